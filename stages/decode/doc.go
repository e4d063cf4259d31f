// Package decode is the first stage of a node: it turns the frames netio
// copied out of its connections into work.Requests.
//
// One goroutine (a work.Runner) pops batches of netio.Inbound frames,
// decodes each body, resolves the destination's partition through the route
// cache, and pushes the Request to verify. A frame whose body does not
// decode is answered with an ERROR frame; a fatal code closes that
// connection and nothing else. Stop closes the input ring, drains it and
// waits. The stage keeps no state between frames.
package decode
