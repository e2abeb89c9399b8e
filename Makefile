# The README's two commands, plus conveniences.
.PHONY: run test build bench

run:   ## start the service with demo data (finds or starts PostgreSQL)
	./scripts/run

test:  ## run every test against a real PostgreSQL (finds or starts one)
	./scripts/test

build:
	go build -o bin/kaiku ./cmd/kaiku

bench: build
	./bin/kaiku bench --quick
