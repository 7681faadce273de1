package forward

import (
	"net/url"
	"strings"
)

// dropQueryParams removes the named parameters from a raw query, keeping
// the others in order and as escaped: agents that put their (placeholder)
// key in the URL, as Gemini clients do with ?key=, must not send it on.
func dropQueryParams(raw string, names []string) string {
	if raw == "" || len(names) == 0 {
		return raw
	}
	kept := make([]string, 0, strings.Count(raw, "&")+1)
	for _, pair := range strings.Split(raw, "&") {
		k, _, _ := strings.Cut(pair, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		drop := false
		for _, n := range names {
			drop = drop || k == n
		}
		if !drop {
			kept = append(kept, pair)
		}
	}
	return strings.Join(kept, "&")
}
