package peer

import "time"

// Requests run on handler goroutines that outlive them: a goroutine per
// request grew (copied) its stack on almost every request, since a store
// write runs deep inside pebble — 13% of a replica's CPU under a 3-node
// SET load. A handler that finishes a request waits handlerIdle for the
// next one from any connection, then ends; a request that finds no
// handler waiting starts one. So there are as many handlers as requests
// ran at once lately, as there were goroutines before.

// handlerIdle is how long a handler waits for another request.
const handlerIdle = 5 * time.Second

// handleJob is a request of connection c.
type handleJob struct {
	c *serverConn
	f frame
}

// dispatch runs c's request f on an idle handler, or on a new one. The
// caller is in t.wg (a connection's readLoop), so Add may race Wait.
func (t *TCP) dispatch(c *serverConn, f frame) {
	select {
	case t.work <- handleJob{c, f}:
	default:
		t.handlers.Add(1)
		t.wg.Go(func() { t.serveRequests(handleJob{c, f}) })
	}
}

// serveRequests runs j, then the requests dispatched to it, until it has been
// idle for handlerIdle or the transport closes.
func (t *TCP) serveRequests(j handleJob) {
	idle := time.NewTimer(handlerIdle)
	defer idle.Stop()
	for {
		j.c.handle(j.f)
		j = handleJob{} // let the connection and frame go
		idle.Reset(handlerIdle)
		select {
		case j = <-t.work:
		case <-idle.C:
			return
		case <-t.lifetime.Done():
			return
		}
	}
}
