// Package router is the hash-route stage: it sends each request to the
// worker that owns its partition.
//
// decode already resolved destination → partition (SHA-256, cached in
// route.Cache). On a single node every partition is local: PUBLISH and ACK
// go to persist (they change the log), FETCH and NACK go straight to the
// fanout worker owning the partition (they change only volatile delivery
// state). In the cluster this is where a request for a partition led
// elsewhere is forwarded or redirected. One goroutine (work.Runner).
package router
