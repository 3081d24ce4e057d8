/* pb_nesting.h: the nesting depth of a protobuf message, measured on the wire
 * bytes against the schema before protobuf-c unpacks them (docs/limits.md). */
#ifndef FSC_PB_NESTING_H
#define FSC_PB_NESTING_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "flipscope/status.h"

/* Fails with FSC_ERR_LIMIT (message labelled with `file`) when buf, read as
 * the message `desc`, nests messages deeper than max levels (the top message
 * is level 1); max <= 0 checks nothing. Malformed bytes end the scan of their
 * message without an error: protobuf-c's own parse reports them. */
fsc_status fsc_pb_check_nesting(const char *file, const uint8_t *buf, size_t len, const ProtobufCMessageDescriptor *desc,
                                int max, fsc_error *err);

#endif
