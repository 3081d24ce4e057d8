/* pb_nesting.c: protobuf-c has no recursion limit of its own, and unpacking
 * a message type that contains itself (directly or through others) recurses
 * once per level of the input. This scan walks the wire format guided by the
 * schema's descriptors and measures the depth first, so a deep input is
 * refused with a message instead of a stack overflow. Only fields the schema
 * declares as messages are descended into; everything else is skipped by its
 * length, so the scan costs one pass over the tags, not over the payloads. */
#include "formats/pb_nesting.h"

#include <stdbool.h>

/* Reads a varint at *p (below end); false when truncated or longer than 10 bytes. */
static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Deepest level reached inside [p, end) read as desc, the message itself at
 * level `level`; stops descending once max is passed (the result is then > max). */
static int depth_of(const uint8_t *p, const uint8_t *end, const ProtobufCMessageDescriptor *desc, int level, int max)
{
    int deepest = level;
    while (p < end && deepest <= max) {
        uint64_t tag, n;
        if (!read_varint(&p, end, &tag)) break;
        switch (tag & 7) {
        case 0: /* varint */
            if (!read_varint(&p, end, &n)) return deepest;
            break;
        case 1: /* 64-bit */
            if (end - p < 8) return deepest;
            p += 8;
            break;
        case 5: /* 32-bit */
            if (end - p < 4) return deepest;
            p += 4;
            break;
        case 2: { /* length-delimited: a sub-message when the schema says so */
            if (!read_varint(&p, end, &n) || n > (uint64_t)(end - p)) return deepest;
            uint64_t id = tag >> 3;
            const ProtobufCFieldDescriptor *f =
                id && id <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(desc, (unsigned)id) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                int d = depth_of(p, p + n, f->descriptor, level + 1, max);
                if (d > deepest) deepest = d;
            }
            p += n;
            break;
        }
        default: /* groups and invalid wire types: protobuf-c's parse decides */
            return deepest;
        }
    }
    return deepest;
}

fsc_status fsc_pb_check_nesting(const char *file, const uint8_t *buf, size_t len, const ProtobufCMessageDescriptor *desc,
                                int max, fsc_error *err)
{
    if (max <= 0 || !buf) return FSC_OK;
    int d = depth_of(buf, buf + len, desc, 1, max);
    if (d > max)
        return fsc_fail(err, FSC_ERR_LIMIT,
                        "%s: protobuf messages nested more than %d levels deep, over the max_nesting limit of %d "
                        "(raise it with --limit max_nesting=N)",
                        file, max, max);
    return FSC_OK;
}
