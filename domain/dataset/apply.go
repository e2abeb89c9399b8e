package dataset

import (
	"context"
	"fmt"
	"time"

	"github.com/kaiku/kaiku/domain"
	"github.com/kaiku/kaiku/domain/command"
)

// Apply runs one generated command through the command handlers, as the
// HTTP API would, with the command's principal and business date.
func Apply(ctx context.Context, h *command.Handler, c Command) (command.Result, error) {
	md := domain.Metadata{Principal: c.Principal, CorrelationID: domain.NewEventID(),
		OccurredAt: time.Date(c.On.Year(), c.On.Month(), c.On.Day(), 0, 0, 0, 0, time.UTC)}
	switch x := c.Cmd.(type) {
	case command.ReviseGuideline:
		return h.ReviseGuideline(ctx, md, x)
	case command.RegisterLocality:
		return h.RegisterLocality(ctx, md, x)
	case command.ConcludePilot:
		return h.ConcludePilot(ctx, md, x)
	case command.LeaveLocality:
		return h.LeaveLocality(ctx, md, x)
	case command.AssignCoordinator:
		return h.AssignCoordinator(ctx, md, x)
	case command.HoldFeedbackMeeting:
		return h.HoldFeedbackMeeting(ctx, md, x)
	case command.JoinPartner:
		return h.JoinPartner(ctx, md, x)
	case command.ApproveIssuer:
		return h.ApproveIssuer(ctx, md, x)
	case command.ChangeContact:
		return h.ChangeContact(ctx, md, x)
	case command.CommitToGuideline:
		return h.CommitToGuideline(ctx, md, x)
	case command.LeavePartner:
		return h.LeavePartner(ctx, md, x)
	case command.SignAgreement:
		return h.SignAgreement(ctx, md, x)
	case command.AmendAgreement:
		return h.AmendAgreement(ctx, md, x)
	case command.TerminateAgreement:
		return h.TerminateAgreement(ctx, md, x)
	case command.IssueCard:
		return h.IssueCard(ctx, md, x)
	case command.RenewCard:
		return h.RenewCard(ctx, md, x)
	case command.ReplaceCard:
		return h.ReplaceCard(ctx, md, x)
	case command.CorrectCard:
		return h.CorrectCard(ctx, md, x)
	case command.CancelCard:
		return h.CancelCard(ctx, md, x)
	case command.RecordUse:
		return h.RecordUse(ctx, md, x)
	case command.CancelUse:
		return h.CancelUse(ctx, md, x)
	}
	return command.Result{}, fmt.Errorf("dataset: no handler for %T", c.Cmd)
}
