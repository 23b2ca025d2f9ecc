// Package abuse is switchyard's abuse suite: it builds the real binary,
// runs it as a separate process against hostile fake upstreams and
// hostile clients, and checks what each client got, how long it took and
// how far the server's resident memory rose. The package has only tests;
// they skip unless SWITCHYARD_ABUSE=1. See README.md.
package abuse
