/* pool_tree: an intrusive AVL tree keyed by three unsigned 64-bit words compared in order.
 *
 * SmartPool keeps the live blocks of a planned arena in one (key: 0, address, 0), so the last
 * block starting below an end address is the only one that can overlap a candidate range. Keys
 * must be unique. Height stays within 1.44 log2(n): every operation is
 * O(log n). Not thread-safe: the owning pool serializes access.
 */
#ifndef SARAPHIS_MEMORY_POOL_TREE_H
#define SARAPHIS_MEMORY_POOL_TREE_H

#include <stddef.h>
#include <stdint.h>

typedef struct pool_tree_node_s {
    struct pool_tree_node_s *child[2]; /* [0] smaller keys, [1] larger keys */
    uint64_t key[3];
    int32_t height; /* a leaf has height 1 */
} pool_tree_node_t;

typedef struct {
    pool_tree_node_t *root;
    size_t count;
} pool_tree_t;

/* Compares keys lexicographically: negative, zero or positive. */
static inline int pool_tree_key_compare(const uint64_t a[3], const uint64_t b[3])
{
    for (int i = 0; i < 3; i++) {
        if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    }
    return 0;
}

/* Inserts node (its key must be set and absent from the tree). */
void pool_tree_insert(pool_tree_t *tree, pool_tree_node_t *node);
/* Removes node, which must be in the tree. */
void pool_tree_remove(pool_tree_t *tree, pool_tree_node_t *node);
/* The node with the smallest key >= (k0, k1, k2); NULL when none. */
pool_tree_node_t *pool_tree_lower_bound(const pool_tree_t *tree, uint64_t k0, uint64_t k1,
                                        uint64_t k2);
/* The node with the largest key < (k0, k1, k2); NULL when none. */
pool_tree_node_t *pool_tree_last_below(const pool_tree_t *tree, uint64_t k0, uint64_t k1,
                                       uint64_t k2);
/* The node with the smallest key; NULL when the tree is empty. */
pool_tree_node_t *pool_tree_first(const pool_tree_t *tree);

#endif
