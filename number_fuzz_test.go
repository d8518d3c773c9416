package hotline_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"hotline"
)

func FuzzNormalizeNumber(f *testing.F) {
	for _, tc := range normalizeCases {
		f.Add(tc.raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n := hotline.NormalizeNumber(raw)
		require.Equal(t, raw, n.Raw)
		require.Contains(t, []hotline.NumberKind{hotline.NumberMobile, hotline.NumberLandline, hotline.NumberService,
			hotline.NumberInternational, hotline.NumberWithheld, hotline.NumberInvalid}, n.Kind)
		if n.AreaCode != "" {
			require.Equal(t, hotline.NumberLandline, n.Kind)
			require.True(t, strings.HasPrefix(n.Number, n.AreaCode), "number %q outside its area code %q", n.Number, n.AreaCode)
		}
		if !n.Callable {
			require.NotEmpty(t, n.Reason)
			require.Empty(t, n.Number, "a number we must not dial is never handed out")
			require.Equal(t, raw, n.String())
			return
		}
		require.Empty(t, n.Reason)
		require.NotEmpty(t, n.Number)
		require.Equal(t, -1, strings.IndexFunc(n.Number, func(r rune) bool { return r < '0' || r > '9' }),
			"number %q must be ASCII digits only", n.Number)
		require.Contains(t, []hotline.NumberKind{hotline.NumberMobile, hotline.NumberLandline, hotline.NumberService}, n.Kind)
		require.Equal(t, n.Number, n.String())

		again := hotline.NormalizeNumber(n.Number)
		require.Equal(t, n.Number, again.Number, "normalising is idempotent")
		require.Equal(t, n.Kind, again.Kind)
		require.Equal(t, n.AreaCode, again.AreaCode)
	})
}
