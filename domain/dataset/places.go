package dataset

// realLocalities are the localities of shared/data/localities.csv.
var realLocalities = []struct {
	id, name, scope, pilotFrom, pilotUntil string
	municipalities                         []string
}{
	{"espoo", "Espoo", "national", "2015-01-01", "2015-12-31", []string{"049"}},
	{"kainuu", "Kainuu", "national", "2015-01-01", "2015-12-31", []string{"205", "765", "290"}},
	{"lappeenranta", "Lappeenranta", "national", "2017-06-01", "2018-12-31", []string{"405"}},
	{"savonlinna", "Savonlinna", "local", "2018-02-01", "2018-12-31", []string{"740"}},
	{"karkkila", "Karkkila", "national", "2018-05-01", "2018-12-31", []string{"224"}},
	{"oulu", "Oulu", "national", "2018-06-25", "2019-12-31", []string{"564"}},
	{"tornio", "Tornio", "national", "2019-04-01", "2019-12-31", []string{"851"}},
	{"rovaniemi", "Rovaniemi", "national", "", "", []string{"698"}},
	{"forssa", "Forssa", "national", "", "", []string{"061"}},
	{"vantaa-kerava", "Vantaa and Kerava", "national", "2025-01-01", "2025-12-31", []string{"092", "245"}},
}

// moreMunicipalities are further real municipalities (Statistics Finland
// code and name) that synthetic localities are made of.
var moreMunicipalities = []struct{ code, name string }{
	{"091", "Helsinki"}, {"837", "Tampere"}, {"853", "Turku"}, {"179", "Jyväskylä"}, {"297", "Kuopio"},
	{"109", "Hämeenlinna"}, {"398", "Lahti"}, {"286", "Kouvola"}, {"167", "Joensuu"}, {"743", "Seinäjoki"},
	{"905", "Vaasa"}, {"609", "Pori"}, {"491", "Mikkeli"}, {"106", "Hyvinkää"}, {"444", "Lohja"},
	{"638", "Porvoo"}, {"543", "Nurmijärvi"}, {"257", "Kirkkonummi"}, {"186", "Järvenpää"}, {"753", "Sipoo"},
	{"092", "Vantaa"}, {"202", "Kaarina"}, {"211", "Kangasala"}, {"536", "Nokia"}, {"980", "Ylöjärvi"},
	{"734", "Salo"}, {"272", "Kokkola"}, {"684", "Rauma"}, {"285", "Kotka"}, {"678", "Raahe"},
	{"182", "Jämsä"}, {"592", "Petäjävesi"}, {"593", "Pieksämäki"}, {"694", "Riihimäki"}, {"505", "Mäntsälä"},
	{"858", "Tuusula"}, {"560", "Orimattila"}, {"111", "Heinola"}, {"916", "Varkaus"}, {"915", "Iisalmi"},
	{"749", "Siilinjärvi"}, {"260", "Kitee"}, {"276", "Kontiolahti"}, {"425", "Liminka"}, {"244", "Kempele"},
	{"494", "Muhos"}, {"139", "Ii"}, {"240", "Kemi"}, {"320", "Kemijärvi"}, {"047", "Enontekiö"},
	{"148", "Inari"}, {"758", "Sodankylä"}, {"261", "Kittilä"}, {"732", "Salla"}, {"583", "Pelkosenniemi"},
	{"018", "Askola"}, {"020", "Akaa"}, {"005", "Alajärvi"}, {"009", "Alavieska"}, {"010", "Alavus"},
	{"016", "Asikkala"}, {"019", "Aura"}, {"046", "Enonkoski"}, {"050", "Eura"}, {"051", "Eurajoki"},
	{"052", "Evijärvi"}, {"069", "Haapajärvi"}, {"071", "Haapavesi"}, {"072", "Hailuoto"}, {"074", "Halsua"},
	{"075", "Hamina"}, {"077", "Hankasalmi"}, {"078", "Hanko"}, {"079", "Harjavalta"}, {"081", "Hartola"},
	{"082", "Hattula"}, {"086", "Hausjärvi"}, {"090", "Heinävesi"}, {"097", "Hirvensalmi"}, {"098", "Hollola"},
	{"102", "Huittinen"}, {"103", "Humppila"}, {"105", "Hyrynsalmi"}, {"108", "Hämeenkyrö"}, {"140", "Iisalmi-maa"},
	{"142", "Iitti"}, {"143", "Ikaalinen"}, {"145", "Ilmajoki"}, {"146", "Ilomantsi"}, {"153", "Imatra"},
	{"149", "Inkoo"}, {"151", "Isojoki"}, {"152", "Isokyrö"}, {"165", "Janakkala"}, {"169", "Jokioinen"},
	{"171", "Joroinen"}, {"172", "Joutsa"}, {"176", "Juuka"}, {"177", "Juupajoki"}, {"178", "Juva"},
	{"181", "Jämijärvi"}, {"204", "Kaavi"}, {"208", "Kalajoki"}, {"213", "Kangasniemi"}, {"214", "Kankaanpää"},
	{"216", "Kannonkoski"}, {"217", "Kannus"}, {"218", "Karijoki"}, {"226", "Karstula"}, {"230", "Karvia"},
	{"231", "Kaskinen"}, {"232", "Kauhajoki"}, {"233", "Kauhava"}, {"235", "Kauniainen"}, {"236", "Kaustinen"},
	{"239", "Keitele"}, {"241", "Keminmaa"}, {"249", "Keuruu"}, {"250", "Kihniö"}, {"256", "Kinnula"},
	{"262", "Kiuruvesi"}, {"263", "Kivijärvi"}, {"271", "Kokemäki"}, {"273", "Kolari"},
	{"275", "Konnevesi"}, {"280", "Korsnäs"}, {"284", "Koski Tl"}, {"287", "Kristiinankaupunki"}, {"288", "Kruunupyy"},
	{"291", "Kuhmoinen"}, {"295", "Kumlinge"}, {"300", "Kuortane"}, {"301", "Kurikka"}, {"304", "Kustavi"},
	{"305", "Kuusamo"}, {"309", "Outokumpu"}, {"312", "Kyyjärvi"}, {"316", "Kärkölä"}, {"317", "Kärsämäki"},
}

// Finnish first and last names for contact persons and coordinators (never
// for cardholders, who have no name in the register).
var givenNames = []string{"Aino", "Eino", "Helmi", "Väinö", "Kerttu", "Toivo", "Siiri", "Onni", "Elli", "Leevi",
	"Maija", "Juhani", "Anna", "Mikko", "Liisa", "Pekka", "Sanna", "Timo", "Hanna", "Jari"}
var familyNames = []string{"Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen",
	"Koskinen", "Järvinen", "Lehtonen", "Lehtinen", "Saarinen", "Salminen", "Heinonen", "Niemi", "Heikkilä", "Kinnunen"}

var venueNames = map[string][]string{
	"culture":   {"City Theatre", "Art Museum", "Concert Hall", "City Orchestra", "Cinema", "Dance Theatre", "History Museum", "Library Stage"},
	"education": {"Adult Education Centre", "Arts School", "Summer University", "Music Institute"},
	"science":   {"Science Centre", "Nature Museum", "Planetarium", "Botanic Garden"},
	"sport":     {"Swimming Hall", "Ice Stadium", "Sports Park", "Climbing Centre", "Ball Club", "Gym"},
}

var issuerNames = map[string][]string{
	"social":    {"Social Services Office", "Adult Social Work", "Child Welfare Office", "Family Services"},
	"health":    {"Health Centre", "Mental Health Services", "Substance Abuse Services"},
	"wellbeing": {"Wellbeing Services Office", "Elderly Services", "Disability Services"},
	"ngo":       {"Unemployed Association", "Mental Health Association", "Refugee Support", "Parish Diaconia"},
}
