// Package apiclient is a Go client of the Kaiku API generated from its
// OpenAPI document by oapi-codegen, kept so that a test can walk a network
// end to end through nothing but what the document says. openapi.json is
// the document it was generated from; a test fails when the served
// document differs. To regenerate:
//
//	KAIKU_UPDATE_OPENAPI=1 go test -run TestAGeneratedClientWalksANetwork ./adapters/httpapi
//	go generate ./adapters/httpapi/apiclient
package apiclient

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config cfg.yaml openapi.json
