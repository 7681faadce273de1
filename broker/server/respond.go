package server

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// writeJSON writes a successful JSON answer.
func (s *Server) writeJSON(c *call, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	s.writeBody(c, status, append(b, '\n'))
	return nil
}

// writeBody writes an encoded JSON answer.
func (s *Server) writeBody(c *call, status int, b []byte) {
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	c.w.WriteHeader(status)
	_, _ = c.w.Write(b)
	c.status = status
}
