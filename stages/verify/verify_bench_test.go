package verify

import (
	"fmt"
	"testing"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/seal"
)

// BenchmarkCheck measures the verify stage's work per PUBLISH batch of 100
// messages: CRC plus, when sealed, AES-256-GCM authentication.
func BenchmarkCheck(b *testing.B) {
	for _, size := range []int{128, 1024} {
		for _, mode := range []string{"unsealed", "sealed"} {
			b.Run(fmt.Sprintf("mode=%s/size=%d", mode, size), func(b *testing.B) {
				var kr *seal.Keyring
				if mode == "sealed" {
					kr = keyring(b, 1)
				}
				s := newStage(b, kr)
				msgs := make([]frame.Message, 100)
				bytes := 0
				for i := range msgs {
					msgs[i] = message(i, make([]byte, size))
					if kr != nil {
						msgs[i] = sealed(b, kr, msgs[i], "q")
					}
					bytes += msgs[i].Size()
				}
				r := request(b, "q", msgs...)
				b.ReportAllocs()
				b.SetBytes(int64(bytes))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					r.StartResults(len(r.Results))
					s.check(r)
				}
				b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}
