/* json: strict RFC 8259 parser to an immutable DOM, and a streaming writer.
 *
 * Invariants of the parser: `pos` never passes `length`, and every byte is looked at only after
 * checking pos < length; nesting is bounded by max_depth, so the recursive descent uses bounded
 * stack; all DOM memory comes from one arena owned by the root, so an error anywhere frees
 * everything at once and nothing can leak. Array items and object members are first collected
 * on a scratch stack shared by all levels (each level owns the slice above its base index) and
 * copied into the arena when the container closes, so each container costs one exact allocation.
 */
#include "common/json.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

/* ---------------------------------------------------------------------------------------------
 * DOM
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    const char *key;
    size_t key_length;
    uint64_t key_offset;
    json_value_t *value;
} json_member_t;

struct json_value_s {
    json_type_t type;
    bool boolean;
    uint64_t offset;
    union {
        struct {
            const char *bytes; /* NUL-terminated copy */
            size_t length;
        } text; /* strings and numbers */
        struct {
            json_value_t **items;
            size_t count;
        } array;
        struct {
            json_member_t *members;
            size_t count;
            const json_member_t **sorted; /* by key, for lookup; NULL for small objects */
        } object;
    } as;
};

/* Objects up to this size are searched linearly; larger ones get a sorted index so that lookups
 * and the duplicate-key check stay O(n log n) even for a hostile object with millions of keys. */
#define JSON_LINEAR_OBJECT_MAX 8

typedef struct json_arena_block_s {
    struct json_arena_block_s *next;
    size_t used;
    size_t capacity;
    _Alignas(16) unsigned char data[];
} json_arena_block_t;

typedef struct {
    json_arena_block_t *head;
    size_t next_block_size;
} json_arena_t;

/* The root value sits first so that json_free can recover the document from it. */
typedef struct {
    json_value_t root;
    json_arena_t arena;
} json_document_t;

#define JSON_ARENA_FIRST_BLOCK 4096
#define JSON_ARENA_MAX_BLOCK ((size_t)1 << 24)

static void *json_arena_alloc(json_arena_t *arena, size_t size)
{
    size_t rounded = (size + 15) & ~(size_t)15;
    if (rounded < size) return NULL; /* size near SIZE_MAX */
    json_arena_block_t *block = arena->head;
    if (!block || block->capacity - block->used < rounded) {
        if (arena->next_block_size == 0) arena->next_block_size = JSON_ARENA_FIRST_BLOCK;
        size_t capacity = arena->next_block_size;
        if (capacity < rounded) capacity = rounded; /* one big string gets a block of its own */
        if (capacity > SIZE_MAX - sizeof(json_arena_block_t)) return NULL;
        block = malloc(sizeof(json_arena_block_t) + capacity);
        if (!block) return NULL;
        block->next = arena->head;
        block->used = 0;
        block->capacity = capacity;
        arena->head = block;
        /* Blocks double so that the block count stays logarithmic in the document size. */
        if (arena->next_block_size < JSON_ARENA_MAX_BLOCK) arena->next_block_size *= 2;
    }
    void *result = block->data + block->used;
    block->used += rounded;
    return result;
}

static void json_arena_release(json_arena_t *arena)
{
    json_arena_block_t *block = arena->head;
    while (block) {
        json_arena_block_t *next = block->next;
        free(block);
        block = next;
    }
    arena->head = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Parser state and error messages
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    const unsigned char *text;
    size_t length;
    size_t pos;
    size_t depth;
    size_t max_depth;
    size_t value_count;
    size_t max_values;
    saraphis_status_t syntax_status;
    uint64_t offset_base;
    const char *what;
    json_arena_t *arena;
    json_value_t **items; /* scratch stack of array items, shared by all levels */
    size_t item_count;
    size_t item_capacity;
    json_member_t *members; /* scratch stack of object members */
    size_t member_count;
    size_t member_capacity;
} json_parser_t;

/* Describes the byte at offset for a message: 'x', byte 0x0a, or end of input. */
static void json_describe_byte(const json_parser_t *parser, size_t offset, char *buffer,
                               size_t capacity)
{
    if (offset >= parser->length) {
        snprintf(buffer, capacity, "end of input");
        return;
    }
    unsigned char c = parser->text[offset];
    if (c >= 0x20 && c < 0x7f && c != '\'')
        snprintf(buffer, capacity, "'%c'", c);
    else
        snprintf(buffer, capacity, "byte 0x%02x", c);
}

static saraphis_status_t json_fail_at(const json_parser_t *parser, size_t offset,
                                      const char *expected)
{
    char found[32];
    json_describe_byte(parser, offset, found, sizeof found);
    return error_set(parser->syntax_status, "%s: byte %llu: expected %s, found %s", parser->what,
                     (unsigned long long)(parser->offset_base + offset), expected, found);
}

static saraphis_status_t json_out_of_memory(const json_parser_t *parser)
{
    return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: byte %llu: out of memory building the DOM",
                     parser->what, (unsigned long long)(parser->offset_base + parser->pos));
}

/* A megabyte-long key must not crowd out the rest of a message, hence the bound. */
void json_quote_for_message(const char *bytes, size_t length, char *buffer, size_t capacity)
{
    if (!buffer || capacity < 4) return; /* no room even for "..." */
    size_t out = 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)bytes[i];
        char piece[8];
        size_t piece_length = 1;
        if (c >= 0x20 && c < 0x7f && c != '\\')
            piece[0] = (char)c;
        else
            piece_length = (size_t)snprintf(piece, sizeof piece, "\\x%02x", c);
        if (out + piece_length + 4 > capacity) {
            memcpy(buffer + out, "...", 4);
            return;
        }
        memcpy(buffer + out, piece, piece_length);
        out += piece_length;
    }
    buffer[out] = '\0';
}

static json_value_t *json_new_value(json_parser_t *parser, json_type_t type, size_t offset,
                                    saraphis_status_t *status)
{
    if (parser->value_count >= parser->max_values) {
        *status = error_set(SARAPHIS_ERROR_LIMIT, "%s: byte %llu: more than %zu values", parser->what,
                            (unsigned long long)(parser->offset_base + offset), parser->max_values);
        return NULL;
    }
    json_value_t *value = json_arena_alloc(parser->arena, sizeof *value);
    if (!value) {
        *status = json_out_of_memory(parser);
        return NULL;
    }
    parser->value_count++;
    memset(value, 0, sizeof *value);
    value->type = type;
    value->offset = parser->offset_base + offset;
    *status = SARAPHIS_OK;
    return value;
}

static void json_skip_whitespace(json_parser_t *parser)
{
    while (parser->pos < parser->length) {
        unsigned char c = parser->text[parser->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        parser->pos++;
    }
}

/* ---------------------------------------------------------------------------------------------
 * UTF-8 (Unicode 15, table 3-7: no overlongs, no surrogates, nothing above U+10FFFF)
 * ------------------------------------------------------------------------------------------- */
/* Length of the valid sequence starting at bytes (1..4), or 0 when invalid or cut short. */
static size_t json_utf8_sequence(const unsigned char *bytes, size_t available)
{
    unsigned char lead = bytes[0];
    if (lead < 0x80) return 1;
    size_t length;
    unsigned char low = 0x80, high = 0xbf; /* range of the second byte */
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        if (lead == 0xe0) low = 0xa0;  /* overlong */
        if (lead == 0xed) high = 0x9f; /* surrogates */
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        if (lead == 0xf0) low = 0x90;  /* overlong */
        if (lead == 0xf4) high = 0x8f; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (available < length) return 0;
    if (bytes[1] < low || bytes[1] > high) return 0;
    for (size_t i = 2; i < length; i++)
        if (bytes[i] < 0x80 || bytes[i] > 0xbf) return 0;
    return length;
}

size_t json_utf8_valid_prefix(const uint8_t *bytes, size_t length)
{
    size_t pos = 0;
    while (pos < length) {
        size_t sequence = json_utf8_sequence(bytes + pos, length - pos);
        if (sequence == 0) break;
        pos += sequence;
    }
    return pos;
}

static size_t json_encode_utf8(uint32_t code_point, char *out)
{
    if (code_point < 0x80) {
        out[0] = (char)code_point;
        return 1;
    }
    if (code_point < 0x800) {
        out[0] = (char)(0xc0 | (code_point >> 6));
        out[1] = (char)(0x80 | (code_point & 0x3f));
        return 2;
    }
    if (code_point < 0x10000) {
        out[0] = (char)(0xe0 | (code_point >> 12));
        out[1] = (char)(0x80 | ((code_point >> 6) & 0x3f));
        out[2] = (char)(0x80 | (code_point & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (code_point >> 18));
    out[1] = (char)(0x80 | ((code_point >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((code_point >> 6) & 0x3f));
    out[3] = (char)(0x80 | (code_point & 0x3f));
    return 4;
}

/* ---------------------------------------------------------------------------------------------
 * Strings
 * ------------------------------------------------------------------------------------------- */
static int json_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads the four hex digits of a \u escape whose 'u' is at parser->pos - 1. */
static saraphis_status_t json_read_hex4(json_parser_t *parser, uint32_t *out)
{
    uint32_t value = 0;
    for (int i = 0; i < 4; i++) {
        int digit = parser->pos < parser->length ? json_hex_value(parser->text[parser->pos]) : -1;
        if (digit < 0) return json_fail_at(parser, parser->pos, "4 hex digits after \\u");
        value = value << 4 | (uint32_t)digit;
        parser->pos++;
    }
    *out = value;
    return SARAPHIS_OK;
}

/* Parses a string whose opening quote is at parser->pos. The decoded text is never longer than
 * the source (every escape shrinks or keeps its size), so one arena allocation of the source
 * length is enough and is sized before decoding. */
static saraphis_status_t json_parse_string_bytes(json_parser_t *parser, const char **out,
                                                 size_t *out_length)
{
    size_t start = parser->pos + 1;
    size_t end = start;
    while (end < parser->length && parser->text[end] != '"') {
        if (parser->text[end] == '\\') end++; /* the escaped byte cannot close the string */
        end++;
    }
    if (end >= parser->length) {
        /* Point at the first problem the decoder would meet, else at the missing quote. */
        end = parser->length;
    }
    char *decoded = json_arena_alloc(parser->arena, end - start + 1);
    if (!decoded) return json_out_of_memory(parser);

    size_t length = 0;
    parser->pos = start;
    for (;;) {
        if (parser->pos >= parser->length)
            return json_fail_at(parser, parser->pos, "'\"' to close the string");
        unsigned char c = parser->text[parser->pos];
        if (c == '"') break;
        if (c < 0x20)
            return json_fail_at(parser, parser->pos,
                                "a string character (control characters must be escaped)");
        if (c >= 0x80) {
            size_t sequence =
                json_utf8_sequence(parser->text + parser->pos, parser->length - parser->pos);
            if (sequence == 0) return json_fail_at(parser, parser->pos, "valid UTF-8");
            memcpy(decoded + length, parser->text + parser->pos, sequence);
            length += sequence;
            parser->pos += sequence;
            continue;
        }
        if (c != '\\') {
            decoded[length++] = (char)c;
            parser->pos++;
            continue;
        }
        size_t escape_offset = parser->pos;
        parser->pos++;
        if (parser->pos >= parser->length)
            return json_fail_at(parser, parser->pos, "an escape character after '\\'");
        unsigned char escape = parser->text[parser->pos++];
        switch (escape) {
        case '"': decoded[length++] = '"'; break;
        case '\\': decoded[length++] = '\\'; break;
        case '/': decoded[length++] = '/'; break;
        case 'b': decoded[length++] = '\b'; break;
        case 'f': decoded[length++] = '\f'; break;
        case 'n': decoded[length++] = '\n'; break;
        case 'r': decoded[length++] = '\r'; break;
        case 't': decoded[length++] = '\t'; break;
        case 'u': {
            uint32_t code_point = 0;
            SPS_TRY(json_read_hex4(parser, &code_point));
            if (code_point >= 0xdc00 && code_point <= 0xdfff)
                return json_fail_at(parser, escape_offset,
                                    "a high surrogate before a low surrogate \\u escape");
            if (code_point >= 0xd800 && code_point <= 0xdbff) {
                size_t low_offset = parser->pos;
                if (parser->length - parser->pos < 2 || parser->text[parser->pos] != '\\' ||
                    parser->text[parser->pos + 1] != 'u')
                    return json_fail_at(parser, low_offset,
                                        "a \\u low surrogate after a high surrogate");
                parser->pos += 2;
                uint32_t low = 0;
                SPS_TRY(json_read_hex4(parser, &low));
                if (low < 0xdc00 || low > 0xdfff)
                    return json_fail_at(parser, low_offset,
                                        "a \\u low surrogate (DC00-DFFF) after a high surrogate");
                code_point = 0x10000 + ((code_point - 0xd800) << 10) + (low - 0xdc00);
            }
            length += json_encode_utf8(code_point, decoded + length);
            break;
        }
        default:
            return json_fail_at(parser, parser->pos - 1,
                                "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
        }
    }
    parser->pos++; /* closing quote */
    decoded[length] = '\0';
    *out = decoded;
    *out_length = length;
    return SARAPHIS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Numbers: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * ------------------------------------------------------------------------------------------- */
static bool json_is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Scans a number at *pos; returns NULL when valid, else what was expected at *pos. */
static const char *json_scan_number(const unsigned char *text, size_t length, size_t *pos)
{
    size_t p = *pos;
    if (p < length && text[p] == '-') p++;
    if (p >= length || !json_is_digit(text[p])) {
        *pos = p;
        return "a digit";
    }
    if (text[p] == '0') {
        p++;
        if (p < length && json_is_digit(text[p])) {
            *pos = p;
            return "no digit after a leading 0 (leading zeros are not JSON)";
        }
    } else {
        while (p < length && json_is_digit(text[p])) p++;
    }
    if (p < length && text[p] == '.') {
        p++;
        if (p >= length || !json_is_digit(text[p])) {
            *pos = p;
            return "a digit after '.'";
        }
        while (p < length && json_is_digit(text[p])) p++;
    }
    if (p < length && (text[p] == 'e' || text[p] == 'E')) {
        p++;
        if (p < length && (text[p] == '+' || text[p] == '-')) p++;
        if (p >= length || !json_is_digit(text[p])) {
            *pos = p;
            return "a digit in the exponent";
        }
        while (p < length && json_is_digit(text[p])) p++;
    }
    *pos = p;
    return NULL;
}

static saraphis_status_t json_parse_number(json_parser_t *parser, json_value_t **out)
{
    size_t start = parser->pos;
    size_t end = start;
    const char *expected = json_scan_number(parser->text, parser->length, &end);
    if (expected) return json_fail_at(parser, end, expected);
    saraphis_status_t status;
    json_value_t *value = json_new_value(parser, JSON_NUMBER, start, &status);
    if (!value) return status;
    char *text = json_arena_alloc(parser->arena, end - start + 1);
    if (!text) return json_out_of_memory(parser);
    memcpy(text, parser->text + start, end - start);
    text[end - start] = '\0';
    value->as.text.bytes = text;
    value->as.text.length = end - start;
    parser->pos = end;
    *out = value;
    return SARAPHIS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Containers
 * ------------------------------------------------------------------------------------------- */
static saraphis_status_t json_parse_value(json_parser_t *parser, json_value_t **out);

static saraphis_status_t json_enter(json_parser_t *parser)
{
    if (parser->depth >= parser->max_depth)
        return error_set(SARAPHIS_ERROR_LIMIT, "%s: byte %llu: nesting deeper than %zu levels",
                         parser->what, (unsigned long long)(parser->offset_base + parser->pos),
                         parser->max_depth);
    parser->depth++;
    return SARAPHIS_OK;
}

static saraphis_status_t json_push_item(json_parser_t *parser, json_value_t *item)
{
    if (parser->item_count == parser->item_capacity) {
        size_t capacity = parser->item_capacity ? parser->item_capacity * 2 : 64;
        json_value_t **grown = realloc(parser->items, capacity * sizeof *grown);
        if (!grown) return json_out_of_memory(parser);
        parser->items = grown;
        parser->item_capacity = capacity;
    }
    parser->items[parser->item_count++] = item;
    return SARAPHIS_OK;
}

static saraphis_status_t json_parse_array(json_parser_t *parser, json_value_t **out)
{
    saraphis_status_t status;
    json_value_t *array = json_new_value(parser, JSON_ARRAY, parser->pos, &status);
    if (!array) return status;
    SPS_TRY(json_enter(parser));
    parser->pos++; /* '[' */
    size_t base = parser->item_count;
    json_skip_whitespace(parser);
    if (parser->pos < parser->length && parser->text[parser->pos] == ']') {
        parser->pos++;
    } else {
        for (;;) {
            json_value_t *item;
            SPS_TRY(json_parse_value(parser, &item));
            SPS_TRY(json_push_item(parser, item));
            json_skip_whitespace(parser);
            if (parser->pos < parser->length && parser->text[parser->pos] == ',') {
                parser->pos++;
                continue;
            }
            if (parser->pos < parser->length && parser->text[parser->pos] == ']') {
                parser->pos++;
                break;
            }
            return json_fail_at(parser, parser->pos, "',' or ']' after an array element");
        }
    }
    size_t count = parser->item_count - base;
    if (count) {
        /* count <= max_values, far below SIZE_MAX / sizeof(pointer) */
        json_value_t **items = json_arena_alloc(parser->arena, count * sizeof *items);
        if (!items) return json_out_of_memory(parser);
        memcpy(items, parser->items + base, count * sizeof *items);
        array->as.array.items = items;
    }
    array->as.array.count = count;
    parser->item_count = base;
    parser->depth--;
    *out = array;
    return SARAPHIS_OK;
}

static int json_compare_keys(const char *a, size_t a_length, const char *b, size_t b_length)
{
    size_t common = a_length < b_length ? a_length : b_length;
    int order = memcmp(a, b, common);
    if (order) return order;
    return (a_length > b_length) - (a_length < b_length);
}

static int json_compare_member_pointers(const void *left, const void *right)
{
    const json_member_t *a = *(const json_member_t *const *)left;
    const json_member_t *b = *(const json_member_t *const *)right;
    int order = json_compare_keys(a->key, a->key_length, b->key, b->key_length);
    if (order) return order;
    /* equal keys: document order, so the later one is reported as the duplicate */
    return (a->key_offset > b->key_offset) - (a->key_offset < b->key_offset);
}

static saraphis_status_t json_duplicate_key(json_parser_t *parser, const json_member_t *member)
{
    char quoted[80];
    json_quote_for_message(member->key, member->key_length, quoted, sizeof quoted);
    return error_set(parser->syntax_status, "%s: byte %llu: expected unique keys, found duplicate \"%s\"",
                     parser->what, (unsigned long long)member->key_offset, quoted);
}

/* Checks key uniqueness and builds the lookup index for large objects. */
static saraphis_status_t json_finish_object(json_parser_t *parser, json_value_t *object)
{
    json_member_t *members = object->as.object.members;
    size_t count = object->as.object.count;
    if (count <= JSON_LINEAR_OBJECT_MAX) {
        for (size_t i = 1; i < count; i++)
            for (size_t j = 0; j < i; j++)
                if (json_compare_keys(members[i].key, members[i].key_length, members[j].key,
                                      members[j].key_length) == 0)
                    return json_duplicate_key(parser, &members[i]);
        return SARAPHIS_OK;
    }
    const json_member_t **sorted = json_arena_alloc(parser->arena, count * sizeof *sorted);
    if (!sorted) return json_out_of_memory(parser);
    for (size_t i = 0; i < count; i++) sorted[i] = &members[i];
    qsort(sorted, count, sizeof *sorted, json_compare_member_pointers);
    /* Report the duplicate that comes first in the document, as the small-object path does. */
    const json_member_t *first_duplicate = NULL;
    for (size_t i = 1; i < count; i++)
        if (json_compare_keys(sorted[i]->key, sorted[i]->key_length, sorted[i - 1]->key,
                              sorted[i - 1]->key_length) == 0 &&
            (!first_duplicate || sorted[i]->key_offset < first_duplicate->key_offset))
            first_duplicate = sorted[i];
    if (first_duplicate) return json_duplicate_key(parser, first_duplicate);
    object->as.object.sorted = sorted;
    return SARAPHIS_OK;
}

static saraphis_status_t json_parse_object(json_parser_t *parser, json_value_t **out)
{
    saraphis_status_t status;
    json_value_t *object = json_new_value(parser, JSON_OBJECT, parser->pos, &status);
    if (!object) return status;
    SPS_TRY(json_enter(parser));
    parser->pos++; /* '{' */
    size_t base = parser->member_count;
    json_skip_whitespace(parser);
    if (parser->pos < parser->length && parser->text[parser->pos] == '}') {
        parser->pos++;
    } else {
        for (;;) {
            json_skip_whitespace(parser);
            if (parser->pos >= parser->length || parser->text[parser->pos] != '"')
                return json_fail_at(parser, parser->pos, "'\"' to open an object key");
            json_member_t member;
            member.key_offset = parser->offset_base + parser->pos;
            SPS_TRY(json_parse_string_bytes(parser, &member.key, &member.key_length));
            json_skip_whitespace(parser);
            if (parser->pos >= parser->length || parser->text[parser->pos] != ':')
                return json_fail_at(parser, parser->pos, "':' after an object key");
            parser->pos++;
            SPS_TRY(json_parse_value(parser, &member.value));
            if (parser->member_count == parser->member_capacity) {
                size_t capacity = parser->member_capacity ? parser->member_capacity * 2 : 32;
                json_member_t *grown = realloc(parser->members, capacity * sizeof *grown);
                if (!grown) return json_out_of_memory(parser);
                parser->members = grown;
                parser->member_capacity = capacity;
            }
            parser->members[parser->member_count++] = member;
            json_skip_whitespace(parser);
            if (parser->pos < parser->length && parser->text[parser->pos] == ',') {
                parser->pos++;
                continue;
            }
            if (parser->pos < parser->length && parser->text[parser->pos] == '}') {
                parser->pos++;
                break;
            }
            return json_fail_at(parser, parser->pos, "',' or '}' after an object member");
        }
    }
    size_t count = parser->member_count - base;
    if (count) {
        json_member_t *members = json_arena_alloc(parser->arena, count * sizeof *members);
        if (!members) return json_out_of_memory(parser);
        memcpy(members, parser->members + base, count * sizeof *members);
        object->as.object.members = members;
    }
    object->as.object.count = count;
    parser->member_count = base;
    SPS_TRY(json_finish_object(parser, object));
    parser->depth--;
    *out = object;
    return SARAPHIS_OK;
}

static saraphis_status_t json_parse_literal(json_parser_t *parser, const char *word,
                                            json_type_t type, bool boolean, json_value_t **out)
{
    size_t word_length = strlen(word);
    for (size_t i = 0; i < word_length; i++)
        if (parser->pos + i >= parser->length || parser->text[parser->pos + i] != (unsigned char)word[i]) {
            char expected[16];
            snprintf(expected, sizeof expected, "'%s'", word);
            return json_fail_at(parser, parser->pos + i, expected);
        }
    saraphis_status_t status;
    json_value_t *value = json_new_value(parser, type, parser->pos, &status);
    if (!value) return status;
    value->boolean = boolean;
    parser->pos += word_length;
    *out = value;
    return SARAPHIS_OK;
}

static saraphis_status_t json_parse_value(json_parser_t *parser, json_value_t **out)
{
    json_skip_whitespace(parser);
    if (parser->pos >= parser->length) return json_fail_at(parser, parser->pos, "a value");
    unsigned char c = parser->text[parser->pos];
    switch (c) {
    case '{': return json_parse_object(parser, out);
    case '[': return json_parse_array(parser, out);
    case 't': return json_parse_literal(parser, "true", JSON_BOOL, true, out);
    case 'f': return json_parse_literal(parser, "false", JSON_BOOL, false, out);
    case 'n': return json_parse_literal(parser, "null", JSON_NULL, false, out);
    case '"': {
        saraphis_status_t status;
        json_value_t *value = json_new_value(parser, JSON_STRING, parser->pos, &status);
        if (!value) return status;
        SPS_TRY(json_parse_string_bytes(parser, &value->as.text.bytes, &value->as.text.length));
        *out = value;
        return SARAPHIS_OK;
    }
    default:
        if (c == '-' || json_is_digit(c)) return json_parse_number(parser, out);
        return json_fail_at(parser, parser->pos, "a value");
    }
}

saraphis_status_t json_parse_ex(const char *text, size_t length, const json_options_t *options,
                                json_value_t **out, const char *what_for_errors)
{
    if (!out) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "json_parse: out is NULL");
    *out = NULL;
    const char *what = what_for_errors ? what_for_errors : "JSON";
    if (!text && length) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: text is NULL", what);

    json_parser_t parser;
    memset(&parser, 0, sizeof parser);
    parser.text = (const unsigned char *)text;
    parser.length = length;
    parser.what = what;
    parser.max_depth = JSON_DEFAULT_MAX_DEPTH;
    parser.max_values = JSON_DEFAULT_MAX_VALUES;
    parser.syntax_status = SARAPHIS_ERROR_BAD_INPUT_FORMAT;
    size_t max_bytes = JSON_DEFAULT_MAX_BYTES;
    if (options) {
        if (options->max_depth) parser.max_depth = options->max_depth;
        if (options->max_values) parser.max_values = options->max_values;
        if (options->max_bytes) max_bytes = options->max_bytes;
        if (options->syntax_status != SARAPHIS_OK) parser.syntax_status = options->syntax_status;
        parser.offset_base = options->offset_base;
    }
    /* Depth is bounded because the descent recurses: a hostile caller-chosen limit must not be
     * able to overflow the C stack either. */
    if (parser.max_depth > 4096) parser.max_depth = 4096;
    if (length > max_bytes)
        return error_set(SARAPHIS_ERROR_LIMIT, "%s: %zu bytes of JSON exceed the %zu-byte limit",
                         what, length, max_bytes);

    json_document_t *document = calloc(1, sizeof *document);
    if (!document) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: out of memory", what);
    parser.arena = &document->arena;

    json_value_t *root = NULL;
    saraphis_status_t status = json_parse_value(&parser, &root);
    if (status == SARAPHIS_OK) {
        json_skip_whitespace(&parser);
        if (parser.pos != parser.length)
            status = json_fail_at(&parser, parser.pos, "end of input after the top-level value");
    }
    free(parser.items);
    free(parser.members);
    if (status != SARAPHIS_OK) {
        json_arena_release(&document->arena);
        free(document);
        return status;
    }
    document->root = *root; /* nothing points at the root, so moving it is safe */
    *out = &document->root;
    return SARAPHIS_OK;
}

saraphis_status_t json_parse(const char *text, size_t length, json_value_t **out,
                             const char *what_for_errors)
{
    return json_parse_ex(text, length, NULL, out, what_for_errors);
}

void json_free(json_value_t *root)
{
    if (!root) return;
    json_document_t *document = (json_document_t *)root;
    json_arena_release(&document->arena);
    free(document);
}

/* ---------------------------------------------------------------------------------------------
 * Accessors
 * ------------------------------------------------------------------------------------------- */
json_type_t json_type(const json_value_t *value) { return value ? value->type : JSON_NULL; }

const char *json_type_name(json_type_t type)
{
    switch (type) {
    case JSON_NULL: return "null";
    case JSON_BOOL: return "a boolean";
    case JSON_NUMBER: return "a number";
    case JSON_STRING: return "a string";
    case JSON_ARRAY: return "an array";
    case JSON_OBJECT: return "an object";
    }
    return "an unknown value";
}

uint64_t json_offset(const json_value_t *value) { return value ? value->offset : 0; }

size_t json_object_size(const json_value_t *object)
{
    return object && object->type == JSON_OBJECT ? object->as.object.count : 0;
}

const char *json_object_key_at(const json_value_t *object, size_t index, size_t *key_length)
{
    if (!object || object->type != JSON_OBJECT || index >= object->as.object.count) return NULL;
    if (key_length) *key_length = object->as.object.members[index].key_length;
    return object->as.object.members[index].key;
}

const json_value_t *json_object_value_at(const json_value_t *object, size_t index)
{
    if (!object || object->type != JSON_OBJECT || index >= object->as.object.count) return NULL;
    return object->as.object.members[index].value;
}

uint64_t json_object_key_offset(const json_value_t *object, size_t index)
{
    if (!object || object->type != JSON_OBJECT || index >= object->as.object.count) return 0;
    return object->as.object.members[index].key_offset;
}

const json_value_t *json_object_getn(const json_value_t *object, const char *key,
                                     size_t key_length)
{
    if (!object || object->type != JSON_OBJECT || !key) return NULL;
    const json_member_t **sorted = object->as.object.sorted;
    size_t count = object->as.object.count;
    if (!sorted) {
        for (size_t i = 0; i < count; i++) {
            const json_member_t *member = &object->as.object.members[i];
            if (json_compare_keys(member->key, member->key_length, key, key_length) == 0)
                return member->value;
        }
        return NULL;
    }
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = json_compare_keys(sorted[middle]->key, sorted[middle]->key_length, key, key_length);
        if (order == 0) return sorted[middle]->value;
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return NULL;
}

const json_value_t *json_object_get(const json_value_t *object, const char *key)
{
    return key ? json_object_getn(object, key, strlen(key)) : NULL;
}

size_t json_array_size(const json_value_t *array)
{
    return array && array->type == JSON_ARRAY ? array->as.array.count : 0;
}

const json_value_t *json_array_at(const json_value_t *array, size_t index)
{
    if (!array || array->type != JSON_ARRAY || index >= array->as.array.count) return NULL;
    return array->as.array.items[index];
}

bool json_is_null(const json_value_t *value) { return value && value->type == JSON_NULL; }

bool json_get_bool(const json_value_t *value, bool *out)
{
    if (!value || value->type != JSON_BOOL) return false;
    *out = value->boolean;
    return true;
}

const char *json_get_string(const json_value_t *value, size_t *length)
{
    if (!value || value->type != JSON_STRING) return NULL;
    if (length) *length = value->as.text.length;
    return value->as.text.bytes;
}

const char *json_number_text(const json_value_t *value, size_t *length)
{
    if (!value || value->type != JSON_NUMBER) return NULL;
    if (length) *length = value->as.text.length;
    return value->as.text.bytes;
}

/* Parses integer-syntax number text into sign and magnitude; false for fractions, exponents and
 * magnitudes above UINT64_MAX. */
static bool json_integer_parts(const json_value_t *value, bool *negative, uint64_t *magnitude)
{
    if (!value || value->type != JSON_NUMBER) return false;
    const char *text = value->as.text.bytes;
    size_t length = value->as.text.length;
    size_t pos = 0;
    *negative = false;
    if (pos < length && text[pos] == '-') {
        *negative = true;
        pos++;
    }
    if (pos >= length) return false;
    uint64_t result = 0;
    for (; pos < length; pos++) {
        unsigned char c = (unsigned char)text[pos];
        if (!json_is_digit(c)) return false; /* '.', 'e', 'E': not an integer */
        uint64_t digit = (uint64_t)(c - '0');
        if (result > (UINT64_MAX - digit) / 10) return false;
        result = result * 10 + digit;
    }
    *magnitude = result;
    return true;
}

bool json_get_uint64(const json_value_t *value, uint64_t *out)
{
    bool negative;
    uint64_t magnitude;
    if (!json_integer_parts(value, &negative, &magnitude) || negative) return false;
    *out = magnitude;
    return true;
}

bool json_get_int64(const json_value_t *value, int64_t *out)
{
    bool negative;
    uint64_t magnitude;
    if (!json_integer_parts(value, &negative, &magnitude)) return false;
    if (negative) {
        if (magnitude > (uint64_t)INT64_MAX + 1) return false;
        /* -(2^63) has no positive int64 twin, so negate in unsigned arithmetic */
        *out = magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)magnitude;
    } else {
        if (magnitude > (uint64_t)INT64_MAX) return false;
        *out = (int64_t)magnitude;
    }
    return true;
}

/* strtod follows LC_NUMERIC; JSON always uses '.', so text is adapted to the current locale's
 * decimal point when it differs (a library must not assume the program's locale). */
static double json_strtod_c(const char *text, size_t length, char **end_out, bool *complete)
{
    const char *decimal_point = localeconv()->decimal_point;
    char *end;
    if (!decimal_point || strcmp(decimal_point, ".") == 0 || !memchr(text, '.', length)) {
        errno = 0;
        double result = strtod(text, &end);
        *complete = (size_t)(end - text) == length;
        if (end_out) *end_out = end;
        return result;
    }
    size_t point_length = strlen(decimal_point);
    char local[512];
    if (length + point_length >= sizeof local) {
        *complete = false;
        return 0.0;
    }
    const char *dot = memchr(text, '.', length);
    size_t before = (size_t)(dot - text);
    memcpy(local, text, before);
    memcpy(local + before, decimal_point, point_length);
    memcpy(local + before + point_length, dot + 1, length - before - 1);
    local[length - 1 + point_length] = '\0';
    errno = 0;
    double result = strtod(local, &end);
    *complete = (size_t)(end - local) == length - 1 + point_length;
    if (end_out) *end_out = NULL;
    return result;
}

bool json_get_double(const json_value_t *value, double *out)
{
    if (!value || value->type != JSON_NUMBER) return false;
    bool complete;
    double result = json_strtod_c(value->as.text.bytes, value->as.text.length, NULL, &complete);
    if (!complete) return false;
    if (errno == ERANGE && isinf(result)) return false;
    *out = result;
    return true;
}

static void json_describe_value(const json_value_t *value, char *buffer, size_t capacity)
{
    if (!value) {
        snprintf(buffer, capacity, "nothing");
        return;
    }
    if (value->type == JSON_NUMBER || value->type == JSON_STRING) {
        char quoted[48];
        json_quote_for_message(value->as.text.bytes, value->as.text.length, quoted, sizeof quoted);
        snprintf(buffer, capacity, value->type == JSON_NUMBER ? "%s" : "\"%s\"", quoted);
        return;
    }
    if (value->type == JSON_BOOL) {
        snprintf(buffer, capacity, "%s", value->boolean ? "true" : "false");
        return;
    }
    snprintf(buffer, capacity, "%s", json_type_name(value->type));
}

saraphis_status_t json_expect_uint64(const json_value_t *value, saraphis_status_t status,
                                     const char *what, const char *field, uint64_t *out)
{
    if (json_get_uint64(value, out)) return SARAPHIS_OK;
    char found[64];
    json_describe_value(value, found, sizeof found);
    return error_set(status, "%s: byte %llu: %s: expected an integer in [0, 2^64), found %s",
                     what ? what : "JSON", (unsigned long long)json_offset(value),
                     field ? field : "value", found);
}

saraphis_status_t json_expect_string(const json_value_t *value, saraphis_status_t status,
                                     const char *what, const char *field, const char **out,
                                     size_t *length)
{
    const char *string = json_get_string(value, length);
    if (string) {
        *out = string;
        return SARAPHIS_OK;
    }
    char found[64];
    json_describe_value(value, found, sizeof found);
    return error_set(status, "%s: byte %llu: %s: expected a string, found %s",
                     what ? what : "JSON", (unsigned long long)json_offset(value),
                     field ? field : "value", found);
}

saraphis_status_t json_expect_type(const json_value_t *value, json_type_t type,
                                   saraphis_status_t status, const char *what, const char *field)
{
    if (value && value->type == type) return SARAPHIS_OK;
    char found[64];
    json_describe_value(value, found, sizeof found);
    return error_set(status, "%s: byte %llu: %s: expected %s, found %s", what ? what : "JSON",
                     (unsigned long long)json_offset(value), field ? field : "value",
                     json_type_name(type), found);
}

/* ---------------------------------------------------------------------------------------------
 * Writer
 * ------------------------------------------------------------------------------------------- */
void json_writer_init(json_writer_t *writer, unsigned indent)
{
    memset(writer, 0, sizeof *writer);
    writer->indent = indent > 16 ? 16 : indent;
}

void json_writer_free(json_writer_t *writer)
{
    if (!writer) return;
    free(writer->data);
    writer->data = NULL;
    writer->size = writer->capacity = 0;
}

static bool json_writer_fail(json_writer_t *writer, saraphis_status_t status, const char *message)
{
    if (writer->status == SARAPHIS_OK) writer->status = error_set(status, "JSON writer: %s", message);
    return false;
}

static bool json_writer_reserve(json_writer_t *writer, size_t extra)
{
    if (writer->status != SARAPHIS_OK) return false;
    if (extra > SIZE_MAX - writer->size - 1) return json_writer_fail(writer, SARAPHIS_ERROR_LIMIT, "output too large");
    size_t needed = writer->size + extra + 1; /* room for the final NUL */
    if (needed <= writer->capacity) return true;
    size_t capacity = writer->capacity ? writer->capacity : 256;
    while (capacity < needed) {
        if (capacity > SIZE_MAX / 2) {
            capacity = needed;
            break;
        }
        capacity *= 2;
    }
    char *grown = realloc(writer->data, capacity);
    if (!grown) return json_writer_fail(writer, SARAPHIS_ERROR_OUT_OF_MEMORY, "out of memory");
    writer->data = grown;
    writer->capacity = capacity;
    return true;
}

static void json_writer_put(json_writer_t *writer, const char *bytes, size_t length)
{
    if (!json_writer_reserve(writer, length)) return;
    memcpy(writer->data + writer->size, bytes, length);
    writer->size += length;
}

static void json_writer_newline(json_writer_t *writer)
{
    if (!writer->indent) return;
    size_t spaces = (size_t)writer->indent * writer->depth;
    if (!json_writer_reserve(writer, spaces + 1)) return;
    writer->data[writer->size++] = '\n';
    memset(writer->data + writer->size, ' ', spaces);
    writer->size += spaces;
}

/* Emits what must precede a value (',' and indentation) and checks a value is allowed here. */
static bool json_writer_begin_value(json_writer_t *writer)
{
    if (writer->status != SARAPHIS_OK) return false;
    if (writer->done)
        return json_writer_fail(writer, SARAPHIS_ERROR_INVALID_ARGUMENT,
                                "a second top-level value");
    if (writer->depth == 0) return true;
    if (writer->container[writer->depth - 1] == '{') {
        if (!writer->after_key)
            return json_writer_fail(writer, SARAPHIS_ERROR_INVALID_ARGUMENT,
                                    "a value inside an object without a key");
        writer->after_key = false;
        return true;
    }
    if (writer->need_comma) json_writer_put(writer, ",", 1);
    json_writer_newline(writer);
    return writer->status == SARAPHIS_OK;
}

static void json_writer_end_value(json_writer_t *writer)
{
    if (writer->depth == 0)
        writer->done = true;
    else
        writer->need_comma = true;
}

static void json_writer_put_string(json_writer_t *writer, const char *string, size_t length)
{
    if (!string && length) {
        json_writer_fail(writer, SARAPHIS_ERROR_INVALID_ARGUMENT, "NULL string");
        return;
    }
    if (length && json_utf8_valid_prefix((const uint8_t *)string, length) != length) {
        json_writer_fail(writer, SARAPHIS_ERROR_INVALID_ARGUMENT, "string is not valid UTF-8");
        return;
    }
    /* Size the escaped form exactly first: reserving the worst case (6 bytes per byte) would
     * ask for 600 MB to write a 100 MB string. (A string held in memory is far shorter than
     * SIZE_MAX / 6, so the sum cannot wrap.) */
    size_t escaped = 2;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)string[i];
        escaped += c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' ||
                           c == '\t'
                       ? 2
                       : c < 0x20 ? 6 : 1;
    }
    if (!json_writer_reserve(writer, escaped)) return;
    char *out = writer->data + writer->size;
    *out++ = '"';
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)string[i];
        switch (c) {
        case '"': *out++ = '\\'; *out++ = '"'; break;
        case '\\': *out++ = '\\'; *out++ = '\\'; break;
        case '\b': *out++ = '\\'; *out++ = 'b'; break;
        case '\f': *out++ = '\\'; *out++ = 'f'; break;
        case '\n': *out++ = '\\'; *out++ = 'n'; break;
        case '\r': *out++ = '\\'; *out++ = 'r'; break;
        case '\t': *out++ = '\\'; *out++ = 't'; break;
        default:
            if (c < 0x20) {
                static const char hex[] = "0123456789abcdef";
                memcpy(out, "\\u00", 4);
                out[4] = hex[c >> 4];
                out[5] = hex[c & 15];
                out += 6;
            } else {
                *out++ = (char)c;
            }
        }
    }
    *out++ = '"';
    writer->size = (size_t)(out - writer->data);
}

static void json_writer_open(json_writer_t *writer, char bracket)
{
    if (!json_writer_begin_value(writer)) return;
    if (writer->depth >= JSON_DEFAULT_MAX_DEPTH) {
        json_writer_fail(writer, SARAPHIS_ERROR_LIMIT, "nesting deeper than the depth limit");
        return;
    }
    json_writer_put(writer, &bracket, 1);
    writer->container[writer->depth++] = (uint8_t)bracket;
    writer->need_comma = false;
    writer->after_key = false;
}

static void json_writer_close(json_writer_t *writer, char open, char close)
{
    if (writer->status != SARAPHIS_OK) return;
    if (writer->depth == 0 || writer->container[writer->depth - 1] != (uint8_t)open ||
        writer->after_key) {
        json_writer_fail(writer, SARAPHIS_ERROR_INVALID_ARGUMENT,
                         close == '}' ? "'}' without a matching open object (or after a key)"
                                      : "']' without a matching open array");
        return;
    }
    bool had_elements = writer->need_comma;
    writer->depth--;
    if (had_elements) json_writer_newline(writer);
    json_writer_put(writer, &close, 1);
    json_writer_end_value(writer);
}

void json_write_object_begin(json_writer_t *writer) { json_writer_open(writer, '{'); }
void json_write_object_end(json_writer_t *writer) { json_writer_close(writer, '{', '}'); }
void json_write_array_begin(json_writer_t *writer) { json_writer_open(writer, '['); }
void json_write_array_end(json_writer_t *writer) { json_writer_close(writer, '[', ']'); }

void json_write_keyn(json_writer_t *writer, const char *key, size_t length)
{
    if (writer->status != SARAPHIS_OK) return;
    if (writer->depth == 0 || writer->container[writer->depth - 1] != '{' || writer->after_key) {
        json_writer_fail(writer, SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "a key outside an object or where a value is due");
        return;
    }
    if (writer->need_comma) json_writer_put(writer, ",", 1);
    json_writer_newline(writer);
    json_writer_put_string(writer, key, length);
    json_writer_put(writer, ": ", writer->indent ? 2 : 1);
    writer->after_key = true;
}

void json_write_key(json_writer_t *writer, const char *key)
{
    json_write_keyn(writer, key, key ? strlen(key) : 0);
}

void json_write_stringn(json_writer_t *writer, const char *string, size_t length)
{
    if (!json_writer_begin_value(writer)) return;
    json_writer_put_string(writer, string, length);
    json_writer_end_value(writer);
}

void json_write_string(json_writer_t *writer, const char *string)
{
    json_write_stringn(writer, string, string ? strlen(string) : 0);
}

void json_write_uint64(json_writer_t *writer, uint64_t number)
{
    if (!json_writer_begin_value(writer)) return;
    char text[24];
    int length = snprintf(text, sizeof text, "%llu", (unsigned long long)number);
    json_writer_put(writer, text, (size_t)length);
    json_writer_end_value(writer);
}

void json_write_int64(json_writer_t *writer, int64_t number)
{
    if (!json_writer_begin_value(writer)) return;
    char text[24];
    int length = snprintf(text, sizeof text, "%lld", (long long)number);
    json_writer_put(writer, text, (size_t)length);
    json_writer_end_value(writer);
}

void json_write_double(json_writer_t *writer, double number)
{
    if (writer->status != SARAPHIS_OK) return;
    if (!isfinite(number)) {
        json_writer_fail(writer, SARAPHIS_ERROR_INVALID_ARGUMENT, "NaN or infinity has no JSON form");
        return;
    }
    /* The shortest of %.15g..%.17g that reads back to the same double; %.17g always does. */
    char text[40];
    int length = 0;
    for (int precision = 15; precision <= 17; precision++) {
        length = snprintf(text, sizeof text, "%.*g", precision, number);
        /* printf writes the locale's decimal point; JSON wants '.' */
        const char *decimal_point = localeconv()->decimal_point;
        if (decimal_point && strcmp(decimal_point, ".") != 0) {
            char *found = strstr(text, decimal_point);
            if (found) {
                size_t point_length = strlen(decimal_point);
                *found = '.';
                memmove(found + 1, found + point_length, strlen(found + point_length) + 1);
                length = (int)strlen(text);
            }
        }
        bool complete;
        double back = json_strtod_c(text, (size_t)length, NULL, &complete);
        if (complete && back == number) break;
    }
    json_write_number_text(writer, text, (size_t)length);
}

void json_write_number_text(json_writer_t *writer, const char *text, size_t length)
{
    if (writer->status != SARAPHIS_OK) return;
    size_t end = 0;
    if (!text || length == 0 || json_scan_number((const unsigned char *)text, length, &end) ||
        end != length) {
        json_writer_fail(writer, SARAPHIS_ERROR_INVALID_ARGUMENT, "not a valid JSON number");
        return;
    }
    if (!json_writer_begin_value(writer)) return;
    json_writer_put(writer, text, length);
    json_writer_end_value(writer);
}

void json_write_bool(json_writer_t *writer, bool value)
{
    if (!json_writer_begin_value(writer)) return;
    json_writer_put(writer, value ? "true" : "false", value ? 4 : 5);
    json_writer_end_value(writer);
}

void json_write_null(json_writer_t *writer)
{
    if (!json_writer_begin_value(writer)) return;
    json_writer_put(writer, "null", 4);
    json_writer_end_value(writer);
}

saraphis_status_t json_writer_finish(json_writer_t *writer, char **text, size_t *length)
{
    saraphis_status_t status = writer->status;
    if (status == SARAPHIS_OK && !writer->done)
        status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                           "JSON writer: finished before the top-level value was complete");
    if (status == SARAPHIS_OK && !json_writer_reserve(writer, 0)) status = writer->status;
    if (status != SARAPHIS_OK) {
        json_writer_free(writer);
        *text = NULL;
        if (length) *length = 0;
        return status;
    }
    writer->data[writer->size] = '\0';
    *text = writer->data;
    if (length) *length = writer->size;
    writer->data = NULL;
    writer->size = writer->capacity = 0;
    return SARAPHIS_OK;
}

/* Writes a parsed value back out (numbers keep their exact text). */
void json_write_value(json_writer_t *writer, const json_value_t *value)
{
    size_t length;
    switch (json_type(value)) {
    case JSON_NULL: json_write_null(writer); break;
    case JSON_BOOL: {
        bool b = false;
        json_get_bool(value, &b);
        json_write_bool(writer, b);
        break;
    }
    case JSON_NUMBER: {
        const char *text = json_number_text(value, &length);
        json_write_number_text(writer, text, length);
        break;
    }
    case JSON_STRING: {
        const char *text = json_get_string(value, &length);
        json_write_stringn(writer, text, length);
        break;
    }
    case JSON_ARRAY:
        json_write_array_begin(writer);
        for (size_t i = 0; i < json_array_size(value); i++) json_write_value(writer, json_array_at(value, i));
        json_write_array_end(writer);
        break;
    case JSON_OBJECT:
        json_write_object_begin(writer);
        for (size_t i = 0; i < json_object_size(value); i++) {
            const char *key = json_object_key_at(value, i, &length);
            json_write_keyn(writer, key, length);
            json_write_value(writer, json_object_value_at(value, i));
        }
        json_write_object_end(writer);
        break;
    }
}
