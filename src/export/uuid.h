/* Random UUIDs for the runtime-id tag. */
#ifndef DDPROF_EXPORT_UUID_H
#define DDPROF_EXPORT_UUID_H

/* Text form of a UUID plus the NUL. */
#define DDPROF_UUID_LEN 37

/* Writes a random (version 4, RFC 4122 variant) UUID in lowercase text
 * form into buf (DDPROF_UUID_LEN bytes). Returns 0 or -errno from
 * getrandom(). */
int ddprof_uuid4(char buf[DDPROF_UUID_LEN]);

#endif
