package forward

import "testing"

func TestParseRoute(t *testing.T) {
	for _, tc := range []struct {
		in                     string
		listen, cred, upstream string
		wantErr                string
	}{
		// Without an address a route listens on loopback only (docs/files-and-exposure.md).
		{in: "10001=anthropic=https://api.anthropic.com", listen: "127.0.0.1:10001", cred: "anthropic", upstream: "https://api.anthropic.com"},
		{in: ":10001=anthropic=https://api.anthropic.com", listen: "127.0.0.1:10001", cred: "anthropic", upstream: "https://api.anthropic.com"},
		{in: "0.0.0.0:10001=anthropic=https://api.anthropic.com", listen: "0.0.0.0:10001", cred: "anthropic", upstream: "https://api.anthropic.com"},
		{in: "127.0.0.1:10002=azure-openai=https://myres.openai.azure.com/openai?api-version=2024-10-21",
			listen: "127.0.0.1:10002", cred: "azure-openai", upstream: "https://myres.openai.azure.com/openai?api-version=2024-10-21"},
		{in: "[::1]:10003=bedrock=https://bedrock-runtime.us-east-1.amazonaws.com", listen: "[::1]:10003", cred: "bedrock",
			upstream: "https://bedrock-runtime.us-east-1.amazonaws.com"},
		{in: "10004=dev=http://127.0.0.1:8080/v1", listen: "127.0.0.1:10004", cred: "dev", upstream: "http://127.0.0.1:8080/v1"},
		{in: "10001=anthropic", wantErr: `route "10001=anthropic": want PORT=CREDENTIAL=URL, e.g. 10001=anthropic=https://api.anthropic.com`},
		{in: "", wantErr: `route "": want PORT=CREDENTIAL=URL, e.g. 10001=anthropic=https://api.anthropic.com`},
		{in: "http=anthropic=https://a.example", wantErr: `route "http=anthropic=https://a.example": listen address "http": port must be a number from 1 to 65535`},
		{in: "70000=anthropic=https://a.example", wantErr: `route "70000=anthropic=https://a.example": listen address "70000": port must be a number from 1 to 65535`},
		{in: "10001==https://a.example", wantErr: `route "10001==https://a.example": credential name is empty`},
		{in: "10001=a b=https://a.example", wantErr: `route "10001=a b=https://a.example": credential name "a b": use letters, digits, '-', '_' and '.'`},
		{in: "10001=anthropic=", wantErr: `route "10001=anthropic=": upstream URL is empty`},
		{in: "10001=anthropic=api.anthropic.com", wantErr: `route "10001=anthropic=api.anthropic.com": upstream URL "api.anthropic.com": scheme must be https (or http to a loopback address)`},
		{in: "10001=anthropic=http://api.anthropic.com", wantErr: `route "10001=anthropic=http://api.anthropic.com": upstream URL "http://api.anthropic.com": plain http is allowed only to a loopback address`},
		{in: "10001=anthropic=https://u:p@api.anthropic.com", wantErr: `route "10001=anthropic=https://u:p@api.anthropic.com": upstream URL "https://u:xxxxx@api.anthropic.com": must not carry user info; the broker supplies credentials`},
		{in: "10001=anthropic=https://api.anthropic.com/#x", wantErr: `route "10001=anthropic=https://api.anthropic.com/#x": upstream URL "https://api.anthropic.com/#x": must be scheme://host[:port][/path][?query]`},
		{in: "10001=anthropic=https:///v1", wantErr: `route "10001=anthropic=https:///v1": upstream URL "https:///v1": no host`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			r, err := ParseRoute(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v\nwant  %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Listen != tc.listen || r.Credential != tc.cred || r.Upstream.String() != tc.upstream {
				t.Errorf("got %+v", r)
			}
			if r.String() != tc.listen+"="+tc.cred+"="+tc.upstream {
				t.Errorf("String() = %q", r.String())
			}
		})
	}
}

func TestGuessProvider(t *testing.T) {
	for host, want := range map[string]string{
		"api.anthropic.com":                       ProviderAnthropic,
		"127.0.0.1:8080":                          ProviderAnthropic,
		"api.openai.com":                          ProviderOpenAI,
		"myres.openai.azure.com":                  ProviderAzure,
		"bedrock-runtime.us-east-1.amazonaws.com": ProviderAWS,
		"us-east5-aiplatform.googleapis.com:443":  ProviderGCP,
		"[::1]:9000":                              ProviderAnthropic,
	} {
		if got := GuessProvider(host); got != want {
			t.Errorf("GuessProvider(%q) = %q, want %q", host, got, want)
		}
	}
}
