/* teardown.h - drops a WebRTC pipeline's last reference where GStreamer
 * 1.22's DTLS timers cannot race it: on the GstSystemClock's thread.
 *
 * Why: dtlsenc and dtlsdec (gst-plugins-bad 1.22) connect to their
 * GstDtlsConnection with g_signal_connect_object() and never disconnect,
 * and every pending DTLS retransmission timer (an async wait on the system
 * clock) holds a reference to that connection. A session torn down within
 * about a second of its DTLS handshake still has such a timer. When it
 * fired while the main thread disposed the pipeline, the connection was
 * disposed on the clock thread (g_signal_handlers_destroy) while the main
 * thread invalidated the elements' closures on it (invalid_closure_notify);
 * GLib's closure notifiers do not survive that, and porthole-robot died
 * with SEGV on the clock thread and "invalid_closure_notify: assertion
 * failed: (handler != NULL)" on the main thread. The clock thread runs the
 * timers, and drops their references, one at a time; disposing the pipeline
 * there too puts the two in sequence. (GStreamer fixed dtlsenc/dtlsdec in
 * 2026: "dtls: unregister signal handlers from connection".)
 *
 * Threads: the caller's thread blocks until the pipeline is disposed. The
 * pipeline must be in the NULL state, and nothing the disposal runs may
 * wait for the caller's thread or for the system clock's async thread
 * (nothing in the robot does: only DTLS timers wait on it, and they are
 * quick). */
#ifndef PORTHOLE_ROBOT_TEARDOWN_H
#define PORTHOLE_ROBOT_TEARDOWN_H

#include <gst/gst.h>

/* Drops the caller's reference to pipeline on the system clock's thread
 * and returns once that is done. If no async clock thread can be used, it
 * drops it here. NULL is a no-op. Can't fail. */
void teardown_unref_pipeline(GstElement *pipeline);

#endif
