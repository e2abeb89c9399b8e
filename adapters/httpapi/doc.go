// Package httpapi serves Kaiku's HTTP API.
package httpapi

import (
	_ "github.com/go-chi/chi/v5"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
)
