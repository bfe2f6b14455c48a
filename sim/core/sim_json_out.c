/* sim_json_out.c - see sim_json_out.h. */
#include "sim/core/sim_json_out.h"

#include <assert.h>
#include <stdio.h>

void sim_json_out_print(JsonBuilder *b) {
    JsonNode *root = json_builder_get_root(b);
    assert(root != NULL);
    JsonGenerator *g = json_generator_new();
    json_generator_set_root(g, root);
    char *text = json_generator_to_data(g, NULL);
    printf("%s\n", text);
    g_free(text);
    json_node_unref(root);
    g_object_unref(g);
    g_object_unref(b);
}
