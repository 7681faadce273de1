package daemon

import (
	"net/http"

	"github.com/awf-broker/awf-broker/internal/testharness"
)

func rawClient(sock string) *http.Client { return testharness.UnixClient(sock) }
