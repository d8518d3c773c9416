package ari_test

import (
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

func itoa(i int) string { return strconv.Itoa(i) }

func sumCounter(families []*dto.MetricFamily, name string) float64 {
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	return sumCounter(families, name)
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

func counterWithLabel(families []*dto.MetricFamily, name, label string) float64 {
	return metricWithLabel(families, name, label).GetCounter().GetValue()
}

// histogramCount is the sample count of the histogram name with a label
// of value label.
func histogramCount(families []*dto.MetricFamily, name, label string) uint64 {
	return metricWithLabel(families, name, label).GetHistogram().GetSampleCount()
}

// metricWithLabel is the series of name with a label of value label; nil
// (whose values read as zero) when there is none.
func metricWithLabel(families []*dto.MetricFamily, name, label string) *dto.Metric {
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m
				}
			}
		}
	}
	return nil
}
