package stages

import (
	"time"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/stages/decode"
)

// clientLimits are the settings of the stages behind netio that HELLO_OK
// lists for a client asking for them (frame.FlagLimits): the FETCH caps of
// decode (built from the options build gives decode) and the partitions'
// delivery and dedupe defaults (a destination's own configuration may
// differ). netio adds the limits it enforces itself.
func clientLimits(o Options) []frame.Limit {
	d := decode.Options{MaxFrame: o.MaxFrame, FetchBatch: o.FetchBatch}
	d.EnsureDefaults()
	q := o.Queue
	q.EnsureDefaults()
	ms := func(v time.Duration) uint64 { return uint64(max(v, 0) / time.Millisecond) }
	return []frame.Limit{
		{ID: frame.LimitMaxWaitMS, Value: ms(d.MaxWait)},
		{ID: frame.LimitFetchDefault, Value: uint64(d.FetchBatch)},
		{ID: frame.LimitFetchMax, Value: uint64(d.MaxFetch)},
		{ID: frame.LimitAckTimeoutMS, Value: ms(q.AckTimeout)},
		{ID: frame.LimitMaxDeliver, Value: uint64(max(q.MaxDeliver, 0))}, // negative: unlimited, sent as 0
		{ID: frame.LimitDedupeWindowMS, Value: ms(q.DedupeWindow)},
		{ID: frame.LimitDedupeMax, Value: uint64(q.DedupeMax)},
		{ID: frame.LimitProducerIdleMS, Value: ms(q.ProducerIdle)},
		{ID: frame.LimitMaxProgress, Value: uint64(q.MaxProgress)},
		{ID: frame.LimitMaxHeaderBytes, Value: frame.MaxHeaderBytes},
		{ID: frame.LimitMaxHeaderCount, Value: frame.MaxHeaderCount},
	}
}
