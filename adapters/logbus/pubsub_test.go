package logbus_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"

	"github.com/kaiku/kaiku/adapters/logbus"
	"github.com/kaiku/kaiku/adapters/postgres"
	"github.com/kaiku/kaiku/adapters/postgres/pgtest"
)

// storeFor returns one PostgreSQL store per suite test (the first two
// parts of t.Name()), shared by every publisher and subscriber that test
// creates: they must see each other's messages, while separate databases
// keep one test's subscribers from scanning the others' traffic.
func storeFor(t *testing.T) *postgres.Store {
	key := strings.Join(strings.SplitN(t.Name(), "/", 3)[:2], "/")
	stores.Lock()
	defer stores.Unlock()
	if s, ok := stores.m[key]; ok {
		return s
	}
	s := postgres.NewStore(pgtest.NewPool(t))
	t.Cleanup(s.Close)
	stores.m[key] = s
	return s
}

var stores = struct {
	sync.Mutex
	m map[string]*postgres.Store
}{m: map[string]*postgres.Store{}}

func newPubSub(t *testing.T) (message.Publisher, message.Subscriber) {
	store := storeFor(t)
	sub, err := logbus.NewSubscriber(logbus.SubscriberConfig{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	return logbus.NewPublisher(store), sub
}

// TestPubSub runs Watermill's universal suite on the real PostgreSQL store.
//
// Features claimed, each as the suite means it:
//   - GuaranteedOrder: every subscription delivers its topic in log order
//     and waits for each Ack (TestPublishSubscribeInOrder, TestNoAck). With
//     several subscribers each gets everything in order, so the suite's
//     multiplied subscriber still sees first deliveries in order.
//   - Persistent: messages live in the log; a new Publisher/Subscriber pair
//     on the same database sees them (TestContinueAfterSubscribeClose).
//   - NewSubscriberReceivesOldMessages: a subscription starts at
//     SubscriberConfig.From, 0 by default, so it replays the topic.
//
// Not claimed:
//   - ExactlyOnceDelivery: the subscriber's cursor is in memory; a new
//     subscription starts again at From, so a consumer that does not keep
//     its own checkpoint sees events again. Exactly-once EFFECTS are the
//     projections runtime's job (checkpoint in the same transaction).
//   - ConsumerGroups: there are no broker-side groups or offsets; every
//     subscription gets every matching event.
//   - ContextPreserved: a message's context is not stored in the log.
//   - GuaranteedOrderWithSingleSubscriber: order holds with any number.
//   - RestartServiceCommand: restarting the shared PostgreSQL would break
//     the other tests running against it.
func TestPubSub(t *testing.T) {
	if testing.Short() {
		t.Skip("the universal suite takes a minute; run without -short")
	}
	features := tests.Features{
		ConsumerGroups:                   false,
		ExactlyOnceDelivery:              false,
		GuaranteedOrder:                  true,
		Persistent:                       true,
		NewSubscriberReceivesOldMessages: true,
	}
	tests.TestPubSub(t, features, newPubSub, func(t *testing.T, _ string) (message.Publisher, message.Subscriber) {
		return newPubSub(t)
	})
}
