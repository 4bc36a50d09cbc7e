// jemalloc's settings for the services' executables, read by jemalloc before main (MALLOC_CONF in the
// environment still overrides them).
//
// tcache_max:1024: the per-thread caches keep freed blocks of up to 1 KiB (the default is 32 KiB). The
// hot path allocates small blocks (header fields, strings, gRPC slices), which keep their speed; a
// thread's cache no longer holds the larger blocks a stream's pieces pass through, so a relay whose
// caller stopped reading levels off at about 1.8 MiB above its start instead of about 3.5 MiB
// (RelayStreamTest; glibc's malloc: about 1 MiB). docs/performance.md has the measurements.
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's interface.
const char* malloc_conf = "tcache_max:1024";
}
