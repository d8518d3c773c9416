package callback

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A malformed Redis URL is refused with a message that says what is wrong
// and never holds its password.
func TestMalformedRedisURLNeverPrintsItsPassword(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"redis://user:s3cretPW@host:notaport/0",
		"redis://:s3cretPW@ho st:6379/0",
		"redis://:s3cr%zzetPW@host/0",
		"redis://:s3cretPW@host:6379/abc",
		"redis//:s3cretPW@host",
	} {
		err := RedisConfig{URL: raw, DialTimeout: 1}.Validate()
		require.Error(t, err, raw)
		require.Contains(t, err.Error(), "redis.url", raw)
		for _, secret := range []string{"s3cret", "zzet", "PW"} {
			require.False(t, strings.Contains(err.Error(), secret), "%q leaks in %q", secret, err.Error())
		}
	}
}
