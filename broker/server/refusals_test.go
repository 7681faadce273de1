package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/awf-broker/awf-broker/api"
)

// TestRefusals drives every kind of bad request over the socket; each row
// names the request and the exact status, code and detail.
func TestRefusals(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	l := h.create(`{"credential":"anthropic","methods":["POST"],"path_prefixes":["/v1/messages"]}`)
	id, sec := l.ID, l.Secret
	headers := "/v1/leases/" + id + "/headers"
	big := `{"credential":"` + strings.Repeat("a", 70000) + `"}`
	const unknown = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
	cases := []struct {
		name                 string
		method, path, body   string
		bearer               string
		status               int
		code, detail, header string
	}{
		{"unknown path", "GET", "/v1/nope", "", "", 404, api.CodeNotFound, "no endpoint /v1/nope", ""},
		{"unknown nested path", "GET", "/v1/leases/" + id + "/nope", "", "", 404, api.CodeNotFound, "no endpoint /v1/leases/" + id + "/nope", ""},
		{"wrong method", "DELETE", "/v1/health", "", "", 405, api.CodeMethodNotAllowed, "DELETE is not allowed on /v1/health (allowed: GET, HEAD)", "Allow: GET, HEAD"},
		{"wrong method on a lease", "PUT", "/v1/leases/" + id, "", "", 405, api.CodeMethodNotAllowed, "PUT is not allowed on /v1/leases/{id} (allowed: GET, DELETE, HEAD)", ""},
		{"malformed JSON", "POST", "/v1/leases", `{"credential":`, "", 400, api.CodeBadRequest, "malformed JSON: unexpected end of body", ""},
		{"syntax error", "POST", "/v1/leases", `{"credential" "x"}`, "", 400, api.CodeBadRequest, "malformed JSON at byte 15", ""},
		{"unknown field", "POST", "/v1/leases", `{"credential":"anthropic","secret":"x"}`, "", 400, api.CodeUnknownField, `unknown field "secret"`, ""},
		{"wrong type", "POST", "/v1/leases", `{"credential":1}`, "", 400, api.CodeBadRequest, "field credential must be string", ""},
		{"trailing value", "POST", "/v1/leases", `{"credential":"anthropic"} {}`, "", 400, api.CodeBadRequest, "unexpected data after the JSON value", ""},
		{"trailing garbage", "POST", "/v1/leases", `{"credential":"anthropic"}x`, "", 400, api.CodeBadRequest, "unexpected data after the JSON value", ""},
		{"empty body", "POST", "/v1/leases", "", "", 400, api.CodeBadRequest, "a JSON body is required", ""},
		{"too large", "POST", "/v1/leases", big, "", 413, api.CodeTooLarge, "request body exceeds 65536 bytes", ""},
		{"too large renew", "POST", "/v1/leases/" + id + "/renew", big, "", 413, api.CodeTooLarge, "request body exceeds 65536 bytes", ""},
		{"too large headers", "POST", headers, big, sec, 413, api.CodeTooLarge, "request body exceeds 65536 bytes", ""},
		{"no credential", "POST", "/v1/leases", `{}`, "", 400, api.CodeBadRequest, "credential is required", ""},
		{"bad credential name", "POST", "/v1/leases", `{"credential":"a$b"}`, "", 400, api.CodeBadRequest, `credential "a$b" is not a valid name`, ""},
		{"unknown credential", "POST", "/v1/leases", `{"credential":"nope"}`, "", 404, api.CodeUnknownCredential, `no credential "nope"`, ""},
		{"hosts beyond the credential", "POST", "/v1/leases", `{"credential":"anthropic","hosts":["evil.com"]}`, "", 403, api.CodeScopeViolation, `host "evil.com" is outside the credential's hosts`, ""},
		{"ttl beyond the credential", "POST", "/v1/leases", `{"credential":"anthropic","ttl":"1h"}`, "", 400, api.CodeBadRequest, "ttl 1h0m0s exceeds the credential's lease_ttl 15m0s", ""},
		{"bad lease id", "GET", "/v1/leases/not-a-uuid", "", "", 400, api.CodeBadRequest, "the lease id is not a UUID", ""},
		{"bad lease id on headers", "POST", "/v1/leases/not-a-uuid/headers", "{}", sec, 400, api.CodeBadRequest, "the lease id is not a UUID", ""},
		{"unknown lease", "GET", "/v1/leases/" + unknown, "", "", 404, api.CodeUnknownLease, "no lease " + unknown, ""},
		{"unknown lease renew", "POST", "/v1/leases/" + unknown + "/renew", "", "", 404, api.CodeUnknownLease, "no lease " + unknown, ""},
		{"unknown lease headers", "POST", "/v1/leases/" + unknown + "/headers", "{}", sec, 404, api.CodeUnknownLease, "no lease " + unknown, ""},
		{"bad credential path name", "GET", "/v1/credentials/a$b", "", "", 400, api.CodeBadRequest, `name "a$b" is invalid: letters, digits, '.', '_', '-', at most 64, starting with a letter or digit`, ""},
		{"unknown credential path", "GET", "/v1/credentials/nope", "", "", 404, api.CodeUnknownCredential, `no credential "nope"`, ""},
		{"refresh unknown", "POST", "/v1/credentials/nope/refresh", "", "", 404, api.CodeUnknownCredential, `no credential "nope"`, ""},
		{"no bearer", "POST", headers, "{}", "", 401, api.CodeUnauthenticated, "missing or malformed Authorization: Bearer <lease secret>", "WWW-Authenticate: Bearer"},
		{"wrong secret", "POST", headers, "{}", sec + "x", 401, api.CodeUnauthenticated, "wrong lease secret", ""},
		{"invalidate wrong secret", "POST", "/v1/leases/" + id + "/invalidate", "", "awfl_x", 401, api.CodeUnauthenticated, "wrong lease secret", ""},
		{"other host", "POST", headers, `{"method":"POST","url":"https://evil.com/v1/messages"}`, sec, 403, api.CodeScopeViolation, `host "evil.com" is outside the lease's scope`, ""},
		{"other method", "POST", headers, `{"method":"GET","url":"https://api.anthropic.com/v1/messages"}`, sec, 403, api.CodeScopeViolation, "method GET is outside the lease's scope", ""},
		{"other path", "POST", headers, `{"method":"POST","url":"https://api.anthropic.com/v1/files"}`, sec, 403, api.CodeScopeViolation, `path "/v1/files" is outside the lease's scope`, ""},
		{"path prefix boundary", "POST", headers, `{"method":"POST","url":"https://api.anthropic.com/v1/messagesX"}`, sec, 403, api.CodeScopeViolation, `path "/v1/messagesX" is outside the lease's scope`, ""},
		{"insecure url", "POST", headers, `{"method":"POST","url":"http://api.anthropic.com/v1/messages"}`, sec, 400, api.CodeInsecureURL, "url must be https (plain http only to a loopback address)", ""},
		{"dot segments", "POST", headers, `{"method":"POST","url":"https://api.anthropic.com/v1/messages/../files"}`, sec, 400, api.CodeBadRequest, "url path must not contain '.' or '..' segments, decoded once or twice, with or without ';' parameters", ""},
		{"encoded slash", "POST", headers, `{"method":"POST","url":"https://api.anthropic.com/v1/messages%2f..%2ffiles"}`, sec, 400, api.CodeBadRequest, "url path must not contain encoded slashes or backslashes", ""},
		{"relative url", "POST", headers, `{"method":"POST","url":"/v1/messages"}`, sec, 400, api.CodeBadRequest, "url must be absolute", ""},
		{"no method", "POST", headers, `{"url":"https://api.anthropic.com/v1/messages"}`, sec, 400, api.CodeBadRequest, `method "" is not an HTTP method`, ""},
		{"headers unknown field", "POST", headers, `{"method":"POST","url":"https://api.anthropic.com/v1/messages","body":"x"}`, sec, 400, api.CodeUnknownField, `unknown field "body"`, ""},
	}
	for _, c := range cases {
		r := h.do(c.method, c.path, c.body, c.bearer)
		p := r.problem(t)
		if r.status != c.status || p.Code != c.code || p.Detail != c.detail {
			t.Errorf("%s: %d %s %q\n  want %d %s %q", c.name, r.status, p.Code, p.Detail, c.status, c.code, c.detail)
		}
		if c.header != "" {
			k, v, _ := strings.Cut(c.header, ": ")
			if got := r.header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", c.name, k, got, v)
			}
		}
		if strings.Contains(string(r.body), sec) {
			t.Errorf("%s: the answer holds the secret", c.name)
		}
	}
	// A body without Content-Length (chunked) is limited too.
	req, _ := http.NewRequest("POST", "http://unix/v1/leases", struct{ *strings.Reader }{strings.NewReader(big)})
	resp, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("chunked big body: %d", resp.StatusCode)
	}
	if strings.Contains(h.logs.String(), sec) {
		t.Error("the secret reached the log")
	}
}

// TestVisibility checks what non-admin callers see, in-process.
func TestVisibility(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	rootLease := h.create(`{"credential":"anthropic"}`)
	u1001 := callerUID(1001)
	u2000 := callerUID(2000)

	names := func(r reply) string {
		var l api.CredentialList
		r.decode(t, &l)
		var out []string
		for _, c := range l.Credentials {
			out = append(out, c.Name)
		}
		return strings.Join(out, ",")
	}
	if got := names(h.as(u1001, "GET", "/v1/credentials", "", "")); got != "anthropic,aws,restricted" {
		t.Errorf("uid/gid 1001 sees %q", got)
	}
	if got := names(h.as(u2000, "GET", "/v1/credentials", "", "")); got != "" {
		t.Errorf("uid 2000 sees %q", got)
	}
	r := h.as(u1001, "POST", "/v1/leases", `{"credential":"anthropic"}`, "")
	var mine api.CreatedLease
	r.decode(t, &mine)
	if r.status != 201 || mine.Holder.UID != 1001 || mine.Holder.PID != 4242 {
		t.Fatalf("1001 creates: %d %s", r.status, r.body)
	}
	var list api.LeaseList
	h.as(u1001, "GET", "/v1/leases", "", "").decode(t, &list)
	if len(list.Leases) != 1 || list.Leases[0].ID != mine.ID {
		t.Errorf("1001 lists %+v", list.Leases)
	}
	h.as(u2000, "GET", "/v1/leases", "", "").decode(t, &list)
	if len(list.Leases) != 0 {
		t.Errorf("2000 lists %+v", list.Leases)
	}
	h.do("GET", "/v1/leases", "", "").decode(t, &list)
	if len(list.Leases) != 2 {
		t.Errorf("admin lists %d leases", len(list.Leases))
	}
	if r := h.as(u1001, "GET", "/v1/leases/"+mine.ID, "", ""); r.status != 200 {
		t.Errorf("holder shows its lease: %d", r.status)
	}
	if r := h.as(u1001, "GET", "/v1/leases/"+strings.ToUpper(mine.ID), "", ""); r.status != 200 {
		t.Errorf("upper-case id: %d %s", r.status, r.body)
	}
	cases := []struct {
		name                       string
		caller                     uint32
		method, path, body, bearer string
		status                     int
		code                       string
	}{
		{"hidden credential", 2000, "GET", "/v1/credentials/anthropic", "", "", 404, api.CodeUnknownCredential},
		{"lease a credential not allowed", 2000, "POST", "/v1/leases", `{"credential":"anthropic"}`, "", 403, api.CodeForbidden},
		{"refresh as non-admin", 1001, "POST", "/v1/credentials/anthropic/refresh", "", "", 403, api.CodeForbidden},
		{"metrics as non-admin", 1001, "GET", "/metrics", "", "", 403, api.CodeForbidden},
		{"show another's lease", 1001, "GET", "/v1/leases/" + rootLease.ID, "", "", 403, api.CodeForbidden},
		{"renew another's lease", 1001, "POST", "/v1/leases/" + rootLease.ID + "/renew", "", "", 403, api.CodeForbidden},
		{"revoke another's lease", 1001, "DELETE", "/v1/leases/" + rootLease.ID, "", "", 403, api.CodeForbidden},
		{"another uid's secret", 1001, "POST", "/v1/leases/" + rootLease.ID + "/headers", `{"method":"POST","url":"https://api.anthropic.com/"}`, rootLease.Secret, 403, api.CodeForbidden},
		{"another uid's invalidate", 2000, "POST", "/v1/leases/" + mine.ID + "/invalidate", "", mine.Secret, 403, api.CodeForbidden},
	}
	for _, c := range cases {
		r := h.as(callerUID(c.caller), c.method, c.path, c.body, c.bearer)
		if p := r.problem(t); r.status != c.status || p.Code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.code)
		}
	}
	if r := h.as(callerUID(2000), "GET", "/v1/credentials/aws", "", ""); r.status != 404 {
		t.Errorf("gid-allowed credential for another gid: %d", r.status)
	}
	// Refusals are audited at info.
	if !strings.Contains(h.logs.String(), `"request refused"`) {
		t.Error("no audit line for refusals")
	}
	// A request without a caller reaches only the Anyone routes.
	for path, want := range map[string]int{"/v1/health": 200, "/v1/leases": 403} {
		req, _ := http.NewRequest("GET", "http://unix"+path, nil)
		rec := newRecorder()
		h.srv.Handler().ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s without a caller: %d, want %d", path, rec.Code, want)
		}
	}
}
