package config

import (
	"fmt"
	"math/big"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/awf-broker/awf-broker/broker/filetrust"
)

// kind is the type an attribute must have.
type kind int

const (
	kString kind = iota
	kStrings
	kUints
	kCount // a whole number from 1 to 2^31-1
	kBool
)

// blockSpec is the schema of one block type.
type blockSpec struct {
	labels int // 0 or 1
	attrs  map[string]kind
	blocks map[string]*blockSpec
	once   bool // may appear at most once
}

var allowSpec = &blockSpec{attrs: map[string]kind{"uids": kUints, "gids": kUints}, once: true}

// schema is the whole file's; it is read-only.
var schema = &blockSpec{
	attrs: map[string]kind{"wait_for_token": kString},
	blocks: map[string]*blockSpec{
		"socket":  {attrs: map[string]kind{"path": kString, "mode": kString, "group": kString}, once: true},
		"log":     {attrs: map[string]kind{"level": kString, "format": kString}, once: true},
		"admin":   {attrs: map[string]kind{"uids": kUints, "gids": kUints}, once: true},
		"metrics": {attrs: map[string]kind{"listen": kString, "allow_remote": kBool}, once: true},
		"limits":  {attrs: limitAttrs(), once: true},
		"identity": {labels: 1, attrs: map[string]kind{"type": kString, "allowed_request_hosts": kStrings, "path": kString},
			blocks: map[string]*blockSpec{"allow": allowSpec}},
		"credential": {labels: 1, attrs: credentialAttrs(), blocks: map[string]*blockSpec{"allow": allowSpec}},
	},
}

// node is a decoded block: its attributes' values and child blocks.
type node struct {
	typ, label string
	pos        Pos
	attrs      map[string]*value
	children   map[string][]*node
}

type value struct {
	pos Pos
	b   bool
	s   string
	ss  []string
	us  []uint32
	n   int
}

// Load reads and parses the file at path. The file must pass the config
// file's trust rule (filetrust.Config: owned by root or the daemon's uid,
// writable by no one else), checked on the descriptor it is read from.
func Load(path string) (*Config, error) {
	src, err := filetrust.Config().Read(path)
	if err != nil {
		return nil, err // it starts "config file", and names path
	}
	return Parse(src, path)
}

// Parse decodes and validates an HCL configuration; filename is used in
// error messages.
func Parse(src []byte, filename string) (*Config, error) {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	var e errs
	if diags.HasErrors() {
		addDiags(&e, diags)
		return nil, e.err()
	}
	body := f.Body.(*hclsyntax.Body)
	root := decodeBody(&e, filename, body, schema, "", Pos{File: filename, Line: 1, Col: 1})
	if err := e.err(); err != nil {
		return nil, err
	}
	return build(root, filename)
}

func addDiags(e *errs, diags hcl.Diagnostics) {
	for _, d := range diags {
		pos := Pos{}
		if d.Subject != nil {
			pos = posOf(*d.Subject)
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += "; " + d.Detail
		}
		e.add(pos, "", "", "%s", msg)
	}
}

func posOf(r hcl.Range) Pos {
	return Pos{File: r.Filename, Line: r.Start.Line, Col: r.Start.Column}
}

func decodeBody(e *errs, file string, body *hclsyntax.Body, spec *blockSpec, where string, pos Pos) *node {
	n := &node{pos: pos, attrs: map[string]*value{}, children: map[string][]*node{}}
	names := make([]string, 0, len(body.Attributes))
	for name := range body.Attributes {
		names = append(names, name)
	}
	// Attributes come as a map; report them in file order.
	sort.Slice(names, func(i, j int) bool {
		return body.Attributes[names[i]].SrcRange.Start.Byte < body.Attributes[names[j]].SrcRange.Start.Byte
	})
	for _, name := range names {
		attr := body.Attributes[name]
		apos := posOf(attr.NameRange)
		k, ok := spec.attrs[name]
		if !ok {
			e.add(apos, where, name, "unknown attribute")
			continue
		}
		if v, ok := decodeValue(e, attr, k, where, apos); ok {
			n.attrs[name] = v
		}
	}
	for _, b := range body.Blocks {
		bpos := posOf(b.TypeRange)
		bs, ok := spec.blocks[b.Type]
		if !ok {
			e.add(bpos, where, b.Type, "unknown block")
			continue
		}
		if len(b.Labels) != bs.labels {
			e.add(bpos, where, b.Type, "want %d label(s), got %d", bs.labels, len(b.Labels))
			continue
		}
		if bs.once && len(n.children[b.Type]) > 0 {
			e.add(bpos, where, b.Type, "block given more than once")
			continue
		}
		child := decodeBody(e, file, b.Body, bs, blockName(where, b.Type, b.Labels), bpos)
		child.typ = b.Type
		if len(b.Labels) == 1 {
			child.label = b.Labels[0]
		}
		n.children[b.Type] = append(n.children[b.Type], child)
	}
	return n
}

func blockName(parent, typ string, labels []string) string {
	name := typ
	if len(labels) == 1 {
		name = fmt.Sprintf("%s %q", typ, labels[0])
	}
	if parent != "" {
		return parent + " " + name
	}
	return name
}

func decodeValue(e *errs, attr *hclsyntax.Attribute, k kind, where string, pos Pos) (*value, bool) {
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() {
		e.add(pos, where, attr.Name, "must be a literal value (variables and functions are not supported)")
		return nil, false
	}
	out := &value{pos: pos}
	switch k {
	case kString:
		if v.IsNull() || v.Type() != cty.String {
			e.add(pos, where, attr.Name, "must be a string")
			return nil, false
		}
		out.s = v.AsString()
	case kCount:
		n, ok := uint32Of(v)
		if !ok || n == 0 || n > 1<<31-1 {
			e.add(pos, where, attr.Name, "must be a whole number of at least 1")
			return nil, false
		}
		out.n = int(n)
	case kBool:
		if v.IsNull() || v.Type() != cty.Bool {
			e.add(pos, where, attr.Name, "must be true or false")
			return nil, false
		}
		out.b = v.True()
	case kStrings, kUints:
		if v.IsNull() || !(v.Type().IsListType() || v.Type().IsTupleType()) {
			e.add(pos, where, attr.Name, "must be a list")
			return nil, false
		}
		for it := v.ElementIterator(); it.Next(); {
			_, el := it.Element()
			if k == kStrings {
				if el.IsNull() || el.Type() != cty.String {
					e.add(pos, where, attr.Name, "must be a list of strings")
					return nil, false
				}
				out.ss = append(out.ss, el.AsString())
				continue
			}
			id, ok := uint32Of(el)
			if !ok {
				e.add(pos, where, attr.Name, "must be a list of ids (whole numbers from 0 to 4294967295)")
				return nil, false
			}
			out.us = append(out.us, id)
		}
	}
	return out, true
}

func uint32Of(v cty.Value) (uint32, bool) {
	if v.IsNull() || v.Type() != cty.Number {
		return 0, false
	}
	f := v.AsBigFloat()
	if !f.IsInt() || f.Sign() < 0 || f.Cmp(new(big.Float).SetUint64(1<<32-1)) > 0 {
		return 0, false
	}
	u, _ := f.Uint64()
	return uint32(u), true
}
