// Package gofer is the home of the gofer: the one process of a sandbox that
// names host paths. The sentry never opens a host path; it asks the gofer,
// over a unix socket, to walk, stat, create and open files inside the
// sandbox's mounts, and the gofer donates open host FDs (SCM_RIGHTS) so that
// reads and writes need no round trip.
//
// Subpackages:
//
//   - proto: the wire protocol (messages, codec, connection plumbing) and the
//     Client the sentry's gofer filesystem uses. Shared by both sides.
//   - server: the gofer process itself: handle tables, path resolution
//     confined to each mount's root, and Main, its entry point.
//
// This package itself holds no code.
package gofer
