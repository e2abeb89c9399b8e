// Package eventstoretest is the contract every domain.EventStore must pass.
// An adapter's test calls Run with a constructor that returns a fresh, empty
// store per test:
//
//	func TestStore(t *testing.T) {
//		eventstoretest.Run(t, func(t *testing.T) domain.EventStore {
//			return postgres.NewStore(pgtest.NewPool(t))
//		})
//	}
//
// The suite uses only the domain package: records are built directly with
// JSON data, so no aggregate package is needed.
package eventstoretest
