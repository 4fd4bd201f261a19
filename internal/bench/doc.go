// Package bench is chat-bench's engine: it opens many SSE subscribers on raw
// HTTP/1.1 connections, posts numbered, timestamped messages, and measures
// what the server delivered (rate, latency, loss, duplicates, order) and what
// it cost (RSS and CPU read from /proc). It only talks to the URL it is
// given, and every loop in it is bounded in count and by the run's deadline.
package bench
