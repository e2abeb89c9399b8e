package projections

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the runner's Prometheus series, all labelled by projection:
//
//	kaiku_projection_events_handled_total  events applied (type-filtered ones excluded)
//	kaiku_projection_errors_total          failed attempts (each retry and the final failure)
//	kaiku_projection_parked_total          poison events parked
//	kaiku_projection_position              checkpoint
//	kaiku_projection_lag_events            events in the log after the checkpoint
//	kaiku_projection_lag_seconds           age (record time) of the oldest unapplied event
//	kaiku_projection_failed                1 while stopped on a poison event
//
// and kaiku_log_head_position, the last position of the log.
type metrics struct {
	handled, errors, parked         *prometheus.CounterVec
	position, lagEvents, lagSeconds *prometheus.GaugeVec
	failed                          *prometheus.GaugeVec
	head                            prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	label := []string{"projection"}
	m := &metrics{
		handled:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaiku_projection_events_handled_total", Help: "Events applied by a projection."}, label),
		errors:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaiku_projection_errors_total", Help: "Failed attempts to apply an event."}, label),
		parked:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kaiku_projection_parked_total", Help: "Poison events parked."}, label),
		position:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kaiku_projection_position", Help: "Checkpoint: position of the last event applied."}, label),
		lagEvents:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kaiku_projection_lag_events", Help: "Events in the log after the checkpoint."}, label),
		lagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kaiku_projection_lag_seconds", Help: "Age of the oldest event not yet applied."}, label),
		failed:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kaiku_projection_failed", Help: "1 while the projection is stopped on a poison event."}, label),
		head:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "kaiku_log_head_position", Help: "Position of the last event in the log."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.handled, m.errors, m.parked, m.position, m.lagEvents, m.lagSeconds, m.failed, m.head} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("projections: metrics already registered (one Runner per registry): %w", err)
			}
			return nil, fmt.Errorf("projections: register metrics: %w", err)
		}
	}
	return m, nil
}
