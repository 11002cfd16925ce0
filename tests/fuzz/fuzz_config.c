/* libFuzzer target for the configuration parser (src/system/config.c): any input must load or
 * fail cleanly, a failed load must leave the configuration as it was, and whatever loads must
 * save -> load -> save to the same text. The same bytes also go through saraphis_config_set as
 * a value of a field chosen by the first byte. */
#include <stdlib.h>
#include <string.h>

#include "saraphis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    saraphis_config_t *config = saraphis_config_create();
    if (!config) return 0;
    char *before = NULL, *after = NULL;
    saraphis_config_to_json(config, &before);
    if (saraphis_config_parse_json(config, (const char *)data, size) == SARAPHIS_OK) {
        char *saved = NULL, *again = NULL;
        saraphis_config_t *reloaded = saraphis_config_create();
        if (reloaded && saraphis_config_to_json(config, &saved) == SARAPHIS_OK &&
            saraphis_config_parse_json(reloaded, saved, strlen(saved)) == SARAPHIS_OK &&
            saraphis_config_to_json(reloaded, &again) == SARAPHIS_OK && strcmp(saved, again) != 0)
            abort();
        free(saved);
        free(again);
        saraphis_config_free(reloaded);
    } else {
        saraphis_config_to_json(config, &after);
        if (before && after && strcmp(before, after) != 0) abort(); /* all or nothing */
    }
    if (size > 0) {
        const saraphis_config_field_t *field = saraphis_config_field_at(data[0] % saraphis_config_field_count());
        char *text = malloc(size);
        if (text) {
            memcpy(text, data + 1, size - 1);
            text[size - 1] = '\0';
            saraphis_config_set(config, field->name, text);
            char value[4096];
            saraphis_config_get(config, field->name, value, sizeof value);
            free(text);
        }
    }
    free(before);
    free(after);
    saraphis_config_free(config);
    return 0;
}
