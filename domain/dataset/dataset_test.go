package dataset_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/command"
	"github.com/kaiku/kaiku/domain/dataset"
	"github.com/kaiku/kaiku/domain/partner"
)

func collect(t *testing.T, cfg dataset.Config) ([]dataset.Command, dataset.Totals) {
	t.Helper()
	var out []dataset.Command
	tot, err := dataset.Generate(cfg, func(c dataset.Command) error { out = append(out, c); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return out, tot
}

func TestTheSameSeedGivesTheSameCommands(t *testing.T) {
	t.Parallel()
	a, _ := collect(t, dataset.Config{Scale: 0.01, Seed: 7})
	b, _ := collect(t, dataset.Config{Scale: 0.01, Seed: 7})
	c, _ := collect(t, dataset.Config{Scale: 0.01, Seed: 8})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs with seed 7 differ")
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("seeds 7 and 8 gave the same commands")
	}
}

func TestCommandsComeInDateOrder(t *testing.T) {
	t.Parallel()
	cmds, _ := collect(t, dataset.Config{Scale: 0.02, Seed: 1})
	for i := 1; i < len(cmds); i++ {
		if cmds[i].On.Before(cmds[i-1].On) {
			t.Fatalf("command %d (%T on %s) comes after one on %s", i, cmds[i].Cmd, cmds[i].On, cmds[i-1].On)
		}
	}
}

func TestScaleOneHasTheShapeOfFinlandAfterTenYears(t *testing.T) {
	t.Parallel()
	cmds, tot := collect(t, dataset.Config{Scale: 1, Seed: 1})
	within := func(name string, got, want int, tol float64) {
		if float64(got) < float64(want)*(1-tol) || float64(got) > float64(want)*(1+tol) {
			t.Errorf("%s = %d, want about %d", name, got, want)
		}
	}
	within("municipalities", tot.Municipalities, 120, 0.05)
	within("issuers", tot.Issuers, 400, 0.15)
	within("venues", tot.Venues, 450, 0.15)
	within("cards", tot.Cards, 100_000, 0.02)
	within("uses", tot.Uses, 270_000, 0.12)

	used := map[string]bool{}
	byCat := map[string]int{}
	venueCat := map[partner.ID]partner.Category{}
	children, uses := 0, 0
	for _, c := range cmds {
		switch x := c.Cmd.(type) {
		case command.JoinPartner:
			venueCat[x.ID] = x.Category
		case command.RecordUse:
			uses++
			children += x.ChildTickets
			used[string(x.Card)] = true
			cat := x.Category
			if cat == "" {
				cat = string(venueCat[x.Venue])
			}
			byCat[cat]++
		}
	}
	if byCat["sport"] <= byCat["culture"] || byCat["sport"] <= byCat["education"] || byCat["sport"] <= byCat["science"] {
		t.Errorf("sport is not the largest adult category: %v", byCat)
	}
	share := float64(children) / float64(children+uses)
	if share < 0.12 || share > 0.22 {
		t.Errorf("children's tickets are %.2f of all uses, want about 1/6", share)
	}
	never := 1 - float64(len(used))/float64(tot.Cards)
	if never < 0.2 || never > 0.45 {
		t.Errorf("%.2f of cards are never used, want a minority of about 0.3", never)
	}
}

func TestADemoNetworkPassesEveryRuleOfTheCommandHandlers(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	h := command.New(postgres.NewStore(pool))
	ctx := context.Background()
	cmds, tot := collect(t, dataset.Config{Scale: 0.005, Seed: 3})
	kinds := map[string]int{}
	for i, c := range cmds {
		if _, err := dataset.Apply(ctx, h, c); err != nil {
			var v *domain.Violation
			if errors.As(err, &v) {
				t.Fatalf("command %d %T on %s by %s broke rule %s: %v\n%+v", i, c.Cmd, c.On, c.Principal, v.Code, err, c.Cmd)
			}
			t.Fatalf("command %d %T: %v", i, c.Cmd, err)
		}
		kinds[fmt.Sprintf("%T", c.Cmd)]++
	}
	for _, k := range []string{"command.IssueCard", "command.RecordUse", "command.RenewCard", "command.SignAgreement",
		"command.ChangeContact", "command.HoldFeedbackMeeting", "command.ReviseGuideline"} {
		if kinds[k] == 0 {
			t.Errorf("the demo network has no %s", k)
		}
	}
	if tot.Cards < 400 {
		t.Errorf("only %d cards", tot.Cards)
	}
}

// Nothing is done in a partner's name on or after the day it left; at
// larger scales enough venues leave to catch a command scheduled too late.
func TestNoCommandNamesAPartnerAfterItLeft(t *testing.T) {
	t.Parallel()
	cmds, _ := collect(t, dataset.Config{Scale: 3, Seed: 1})
	left := map[partner.ID]domain.Date{}
	for _, c := range cmds {
		if x, ok := c.Cmd.(command.LeavePartner); ok {
			left[x.Partner] = x.On
		}
	}
	if len(left) == 0 {
		t.Fatal("no partner left: the test proves nothing")
	}
	for _, c := range cmds {
		var p partner.ID
		switch x := c.Cmd.(type) {
		case command.ChangeContact:
			p = x.Partner
		case command.CommitToGuideline:
			p = x.Partner
		case command.ApproveIssuer:
			p = x.Partner
		case command.RecordUse:
			p = x.Venue
		}
		if on, ok := left[p]; ok && !c.On.Before(on) {
			t.Fatalf("%T on %s names %s, which left on %s", c.Cmd, c.On, p, on)
		}
	}
}
