// promlint-check: `promtool check metrics` without the whole Prometheus module.
//
// Reads a Prometheus text exposition (format 0.0.4) on stdin and checks it exactly like
// `promtool check metrics` of prometheus v0.316.0 (cmd/promtool/main.go, CheckMetrics): the
// exposition is parsed by expfmt's text parser (legacy name validation, as promlint's decoder
// does) and linted by client_golang's promlint. Problems go to stderr as "<metric> <text>";
// exit 0 when clean, 1 when the input does not parse, 3 when there are lint problems.
//
// Flags:
//
//	--extended   also print the cardinality table of `promtool check metrics --extended`
//	--lint=none  skip linting (only with --extended, as promtool)
//	--strict     also report what the text parser accepts but a Prometheus scrape rejects or
//	             a histogram reader would misread: duplicate series (same name and label
//	             set) and inconsistent histograms (missing +Inf bucket, non-cumulative
//	             buckets, _count differing from the +Inf bucket). Reported like lint
//	             problems (exit 3).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const (
	successExitCode = 0
	failureExitCode = 1
	lintErrExitCode = 3
)

func main() {
	extended := flag.Bool("extended", false, "Print extended information related to the cardinality of the metrics.")
	lint := flag.String("lint", "all", "Linting checks to apply for metrics. Available options are: all, none.")
	strict := flag.Bool("strict", false, "Also report duplicate series and inconsistent histograms.")
	flag.Parse()
	os.Exit(checkMetrics(os.Stdin, *extended, *lint, *strict))
}

// checkMetrics mirrors promtool's CheckMetrics, plus the optional strict checks.
func checkMetrics(in io.Reader, extended bool, lint string, strict bool) int {
	if !extended && lint == "none" && !strict {
		fmt.Fprintln(os.Stderr, "error: at least one of --extended or linting must be enabled")
		fmt.Fprintln(os.Stderr, "Use --extended for cardinality analysis, or remove --lint=none to enable linting")
		return failureExitCode
	}
	data, err := io.ReadAll(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error while reading stdin:", err)
		return failureExitCode
	}

	var problems []promlint.Problem
	if lint != "none" {
		problems, err = promlint.New(bytes.NewReader(data)).Lint()
		if err != nil {
			fmt.Fprintln(os.Stderr, "error while linting:", err)
			return failureExitCode
		}
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, p.Metric, p.Text)
		}
	}
	hasProblems := len(problems) > 0

	if strict {
		extra, err := strictProblems(data)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return failureExitCode
		}
		for _, p := range extra {
			fmt.Fprintln(os.Stderr, p.Metric, p.Text)
		}
		hasProblems = hasProblems || len(extra) > 0
	}

	if extended {
		stats, total, err := checkMetricsExtended(bytes.NewReader(data))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return failureExitCode
		}
		w := tabwriter.NewWriter(os.Stdout, 4, 4, 4, ' ', tabwriter.TabIndent)
		fmt.Fprint(w, "Metric\tCardinality\tPercentage\t\n")
		for _, stat := range stats {
			fmt.Fprintf(w, "%s\t%d\t%.2f%%\t\n", stat.name, stat.cardinality, stat.percentage*100)
		}
		fmt.Fprintf(w, "Total\t%d\t%.f%%\t\n", total, 100.)
		w.Flush()
	}

	if hasProblems {
		return lintErrExitCode
	}
	return successExitCode
}

func parse(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("error while parsing text to metric families: %w", err)
	}
	return mfs, nil
}

type metricStat struct {
	name        string
	cardinality int
	percentage  float64
}

// checkMetricsExtended is promtool's, unchanged but for the parser's validation scheme
// (promtool uses the deprecated global, which defaults to UTF-8; the exposition we check is
// meant for every scraper, so names must be legacy-valid).
func checkMetricsExtended(r io.Reader) ([]metricStat, int, error) {
	metricFamilies, err := parse(r)
	if err != nil {
		return nil, 0, err
	}
	var total int
	stats := make([]metricStat, 0, len(metricFamilies))
	for _, mf := range metricFamilies {
		var cardinality int
		switch mf.GetType() {
		case dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_UNTYPED:
			cardinality = len(mf.Metric)
		case dto.MetricType_HISTOGRAM:
			buckets := len(mf.Metric[0].Histogram.Bucket)
			cardinality = len(mf.Metric) * (2 + buckets)
		case dto.MetricType_SUMMARY:
			quantiles := len(mf.Metric[0].Summary.Quantile)
			cardinality = len(mf.Metric) * (2 + quantiles)
		default:
			cardinality = len(mf.Metric)
		}
		stats = append(stats, metricStat{name: mf.GetName(), cardinality: cardinality})
		total += cardinality
	}
	for i := range stats {
		stats[i].percentage = float64(stats[i].cardinality) / float64(total)
	}
	sort.SliceStable(stats, func(i, j int) bool {
		return stats[i].cardinality > stats[j].cardinality
	})
	return stats, total, nil
}

func labelKey(m *dto.Metric) string {
	ls := make([]string, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(ls)
	return "{" + strings.Join(ls, ",") + "}"
}

// strictProblems: what expfmt's parser lets through (it documents that duplicates must be
// checked separately) but a scrape or a histogram_quantile() would trip over.
func strictProblems(data []byte) ([]promlint.Problem, error) {
	mfs, err := parse(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var out []promlint.Problem
	add := func(metric, format string, args ...any) {
		out = append(out, promlint.Problem{Metric: metric, Text: fmt.Sprintf(format, args...)})
	}
	for name, mf := range mfs {
		seen := map[string]bool{}
		for _, m := range mf.GetMetric() {
			key := labelKey(m)
			if seen[key] {
				add(name, "duplicate series %s", key)
			}
			seen[key] = true
			names := map[string]bool{}
			for _, l := range m.GetLabel() {
				if names[l.GetName()] {
					add(name, "duplicate label name %q in %s", l.GetName(), key)
				}
				names[l.GetName()] = true
			}
			h := m.GetHistogram()
			if mf.GetType() != dto.MetricType_HISTOGRAM || h == nil {
				continue
			}
			var prev uint64
			prevBound := math.Inf(-1)
			hasInf := false
			var infCount uint64
			for _, b := range h.GetBucket() {
				if b.GetUpperBound() <= prevBound {
					add(name, "buckets not in increasing le order at le=%g in %s", b.GetUpperBound(), key)
				}
				if b.GetCumulativeCount() < prev {
					add(name, "bucket le=%g count %d below the previous bucket's %d in %s", b.GetUpperBound(), b.GetCumulativeCount(), prev, key)
				}
				prev, prevBound = b.GetCumulativeCount(), b.GetUpperBound()
				if math.IsInf(b.GetUpperBound(), 1) {
					hasInf, infCount = true, b.GetCumulativeCount()
				}
			}
			if !hasInf {
				add(name, "histogram without a le=\"+Inf\" bucket in %s", key)
			} else if infCount != h.GetSampleCount() {
				add(name, "_count %d differs from the le=\"+Inf\" bucket %d in %s", h.GetSampleCount(), infCount, key)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Metric == out[j].Metric {
			return out[i].Text < out[j].Text
		}
		return out[i].Metric < out[j].Metric
	})
	return out, nil
}
