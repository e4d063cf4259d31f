package client

import "testing"

// TestPublisherDefaultBatch: by default MaxInFlight frames carry the whole
// window, within DefaultMaxBatch..MaxDefaultBatch; an explicit MaxBatch
// stays.
func TestPublisherDefaultBatch(t *testing.T) {
	for _, tc := range []struct {
		in   PublisherOptions
		want int
	}{
		{PublisherOptions{}, DefaultMaxBatch},
		{PublisherOptions{Window: 4000}, 1000},
		{PublisherOptions{Window: 4001}, 1001},
		{PublisherOptions{Window: 4000, MaxInFlight: 8}, 500},
		{PublisherOptions{Window: 1}, DefaultMaxBatch},
		{PublisherOptions{Window: 1 << 20}, MaxDefaultBatch},
		{PublisherOptions{Window: 4000, MaxBatch: 10}, 10},
	} {
		o := tc.in
		o.EnsureDefaults()
		if o.MaxBatch != tc.want {
			t.Errorf("%+v: MaxBatch %d, want %d", tc.in, o.MaxBatch, tc.want)
		}
		if err := o.Validate(); err != nil {
			t.Errorf("%+v: %v", tc.in, err)
		}
	}
}
