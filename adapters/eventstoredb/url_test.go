package eventstoredb

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		url         string
		address     string
		disableTLS  bool
		dnsDiscover bool
		username    string
	}{
		{"a kurrentdb url names one insecure node", "kurrentdb://localhost:2113?tls=false", "localhost:2113", true, false, ""},
		{"a kdb url is the short kurrentdb form", "kdb://db.example:2113?tls=false", "db.example:2113", true, false, ""},
		{"a kurrentdb+discover url discovers the cluster by DNS", "kurrentdb+discover://cluster.example:2113", "", false, true, ""},
		{"an esdb url passes through unchanged", "esdb://admin:changeit@localhost:2113", "localhost:2113", false, false, "admin"},
		{"an esdb+discover url passes through unchanged", "esdb+discover://cluster.example:2113?tls=false", "", true, true, ""},
		{"the scheme is not case sensitive", "KurrentDB://localhost:2113?tls=false", "localhost:2113", true, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := ParseURL(tt.url)
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tt.url, err)
			}
			if tt.address != "" && cfg.Address != tt.address {
				t.Errorf("Address = %q, want %q", cfg.Address, tt.address)
			}
			if cfg.DisableTLS != tt.disableTLS {
				t.Errorf("DisableTLS = %v, want %v", cfg.DisableTLS, tt.disableTLS)
			}
			if cfg.DnsDiscover != tt.dnsDiscover {
				t.Errorf("DnsDiscover = %v, want %v", cfg.DnsDiscover, tt.dnsDiscover)
			}
			if cfg.Username != tt.username {
				t.Errorf("Username = %q, want %q", cfg.Username, tt.username)
			}
		})
	}
}

func TestParseURLRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		url     string
		wantErr string
	}{
		{"a postgres url is not a kurrentdb url", "postgres://localhost:5432/kaiku", "not one of kurrentdb"},
		{"a bare host has no scheme", "localhost:2113", "no scheme"},
		{"a bad option is reported without the password", "kurrentdb://admin:s3cret@localhost:2113?tls=perhaps", "xxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseURL(tt.url)
			if err == nil {
				t.Fatalf("ParseURL(%q) succeeded", tt.url)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("err = %v shows the password", err)
			}
		})
	}
}
