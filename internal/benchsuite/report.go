// Package benchsuite is `make bench`: one run that measures the broker and
// the forwarder next to their floors (a raw unix-socket echo, a trivial
// handler on the same HTTP stack, direct upstream calls, a raw TCP relay
// and DESIGN §9's naive reference), the cold-start stampede, token rotation
// under load and the RSS of the real binaries, and reports each figure as a
// ratio beside the DESIGN §9 goal.
package benchsuite

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Row is one figure of the report.
type Row struct {
	// Section groups rows in the table ("grants", "forward", …).
	Section string  `json:"section"`
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	// Counterpart names the floor or direct figure Value is compared with;
	// CounterValue is that figure and Ratio is Value/CounterValue (or the
	// inverse for latencies, so that > 1 is always "as good as the floor").
	Counterpart  string  `json:"counterpart,omitempty"`
	CounterValue float64 `json:"counter_value,omitempty"`
	Ratio        float64 `json:"ratio,omitempty"`
	// Goal is DESIGN §9's goal for this figure, and Pass whether it is met
	// (nil: no goal).
	Goal string `json:"goal,omitempty"`
	Pass *bool  `json:"pass,omitempty"`
}

// Report is one run of the suite.
type Report struct {
	Date    time.Time `json:"date"`
	Machine Machine   `json:"machine"`
	Elapsed string    `json:"elapsed"`
	Rows    []Row     `json:"rows"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs   int    `json:"cpus"`
	Model  string `json:"model"`
	Go     string `json:"go"`
	Kernel string `json:"kernel"`
}

func thisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func (r *Report) add(row Row) { r.Rows = append(r.Rows, row) }

// Failed lists the rows whose goal is not met.
func (r *Report) Failed() []Row {
	var out []Row
	for _, row := range r.Rows {
		if row.Pass != nil && !*row.Pass {
			out = append(out, row)
		}
	}
	return out
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// WriteTable writes r as a Markdown table.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "awf-broker bench — %s — %d× %s, %s, linux %s — %s\n\n",
		r.Date.UTC().Format("2006-01-02 15:04 MST"), r.Machine.CPUs, r.Machine.Model, r.Machine.Go, r.Machine.Kernel, r.Elapsed)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| section\t figure\t value\t counterpart\t ratio\t goal (DESIGN §9)\t status\t")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t---\t")
	for _, row := range r.Rows {
		counter, ratio, status := "", "", ""
		if row.Counterpart != "" {
			counter = fmt.Sprintf("%s %s", row.Counterpart, num(row.CounterValue, row.Unit))
			ratio = fmt.Sprintf("%.2f×", row.Ratio)
		}
		if row.Pass != nil {
			status = "gap"
			if *row.Pass {
				status = "pass"
			}
		}
		fmt.Fprintf(tw, "| %s\t %s\t %s\t %s\t %s\t %s\t %s\t\n", row.Section, row.Name, num(row.Value, row.Unit), counter, ratio, row.Goal, status)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// num formats v in its unit.
func num(v float64, unit string) string {
	switch unit {
	case "µs", "ms", "MiB":
		return fmt.Sprintf("%.1f %s", v, unit)
	case "/s":
		return fmt.Sprintf("%.0f/s", v)
	default:
		return fmt.Sprintf("%.0f %s", v, unit)
	}
}

func pass(ok bool) *bool { return &ok }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
