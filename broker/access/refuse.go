package access

import (
	"fmt"
	"net/http"

	"github.com/awf-broker/awf-broker/api"
)

func refuse(status int, code, format string, args ...any) *api.Problem {
	return &api.Problem{Status: status, Code: code, Detail: fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) *api.Problem {
	return refuse(http.StatusForbidden, api.CodeForbidden, format, args...)
}
