package daemon

import (
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/provider/static"
)

// A static credential's value_file is part of what the credential is: on
// SIGHUP a rotated key makes the credential changed (rebuilt, its leases
// kept as for any change within the same scope), even when the config's
// text is the same. The comparison is by fingerprint (static.FileFingerprint),
// so the key itself is never kept outside the provider nor logged.

// fingerprinter is a provider whose value can change without its config.
type fingerprinter interface {
	Fingerprint() string
}

// fingerprintOf returns prov's value fingerprint, "" when it has none.
func fingerprintOf(prov provider.Provider) string {
	if f, ok := prov.(fingerprinter); ok {
		return f.Fingerprint()
	}
	return ""
}

// valueRotated reports whether c's value_file now holds another value than
// prev was built with. A file that no longer passes the trust rule is an
// error, which refuses the reload.
func valueRotated(prev *credential, c config.Credential) (bool, error) {
	if c.ValueFile == "" {
		return false, nil
	}
	fp, err := static.FileFingerprint(c.ValueFile)
	if err != nil {
		return false, err
	}
	return fp != prev.valueFingerprint, nil
}
