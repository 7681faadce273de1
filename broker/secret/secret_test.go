package secret

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestValueNeverPrints(t *testing.T) {
	const raw = "sk-ant-oat01-this-must-not-print"
	v := New(raw)
	type wrapper struct {
		Tok Value
		Ptr *Value
	}
	w := wrapper{Tok: v, Ptr: &v}
	outs := []string{
		fmt.Sprint(v), fmt.Sprintf("%s %q %x %X %+v %#v %v", v, v, v, v, v, v, v),
		fmt.Sprintf("%+v %#v", w, w), v.String(), v.GoString(),
	}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(b))
	tb, _ := v.MarshalText()
	outs = append(outs, string(tb), v.LogValue().String())
	for _, o := range outs {
		if strings.Contains(o, raw) || strings.Contains(o, "oat01") {
			t.Errorf("secret leaked in %q", o)
		}
		if !strings.Contains(o, Redacted) {
			t.Errorf("output %q lacks the redaction marker", o)
		}
	}
	if v.Reveal() != raw {
		t.Errorf("Reveal() = %q", v.Reveal())
	}
}

func TestEqual(t *testing.T) {
	if !New("a").Equal(New("a")) || New("a").Equal(New("b")) || New("a").Equal(New("")) {
		t.Fatal("Equal is wrong")
	}
	if !(Value{}).IsZero() || New("x").IsZero() {
		t.Fatal("IsZero is wrong")
	}
}
