package main

import (
	"context"
	"fmt"
)

// notYet answers for a command whose subsystem is not built in this
// version, so the CLI has its final shape and says so plainly.
func notYet(name string) func(context.Context, *env, []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		fs := newFlags(e, name, "", "Not available in this version of kaiku.")
		if err := parse(e, fs, args); err != nil {
			return err
		}
		return fmt.Errorf("%s is not available in this version of kaiku", name)
	}
}

var ()
