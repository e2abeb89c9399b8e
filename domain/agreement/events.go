package agreement

import (
	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/locality"
	"github.com/kaiku/kaiku/domain/partner"
)

func init() {
	domain.Register[Signed]()
	domain.Register[Amended]()
	domain.Register[Terminated]()
}

// Signed records an agreement between a locality and one of its partners.
type Signed struct {
	ID              ID          `json:"id"`
	Locality        locality.ID `json:"locality"`
	Partner         partner.ID  `json:"partner"`
	Kind            Kind        `json:"kind"`
	TemplateVersion string      `json:"templateVersion"`
	ValidFrom       domain.Date `json:"validFrom"`
	// ValidUntil is the last valid day; zero (null) for a network
	// agreement valid until further notice.
	ValidUntil domain.Date `json:"validUntil"`
}

func (Signed) EventName() string { return "agreement.signed.v1" }

// Amended records an amendment made on On that sets the agreement's last
// valid day to ValidUntil (zero: a network agreement until further notice).
type Amended struct {
	On         domain.Date `json:"on"`
	ValidUntil domain.Date `json:"validUntil"`
	Note       string      `json:"note,omitempty"`
}

func (Amended) EventName() string { return "agreement.amended.v1" }

// Terminated records that the agreement ends on On (its first day out of
// force).
type Terminated struct {
	On     domain.Date `json:"on"`
	Reason string      `json:"reason,omitempty"`
}

func (Terminated) EventName() string { return "agreement.terminated.v1" }
