/* AVL tree for SmartPool's free ranges and arena blocks (see pool_tree.h). Recursion depth is the
 * tree height, at most about 1.44 log2(n) + 2, so at most ~90 frames even for 2^60 nodes. */
#include "memory/pool_tree.h"

static inline int32_t node_height(const pool_tree_node_t *node) { return node ? node->height : 0; }

static inline void update_height(pool_tree_node_t *node)
{
    int32_t left = node_height(node->child[0]), right = node_height(node->child[1]);
    node->height = 1 + (left > right ? left : right);
}

/* Rotates so that node->child[side] becomes the subtree root. */
static pool_tree_node_t *rotate(pool_tree_node_t *node, int side)
{
    pool_tree_node_t *pivot = node->child[side];
    node->child[side] = pivot->child[!side];
    pivot->child[!side] = node;
    update_height(node);
    update_height(pivot);
    return pivot;
}

static pool_tree_node_t *rebalance(pool_tree_node_t *node)
{
    update_height(node);
    int32_t balance = node_height(node->child[1]) - node_height(node->child[0]);
    if (balance > 1 || balance < -1) {
        int heavy = balance > 1;
        pool_tree_node_t *child = node->child[heavy];
        /* A child leaning the other way needs a double rotation. */
        if (node_height(child->child[!heavy]) > node_height(child->child[heavy]))
            node->child[heavy] = rotate(child, !heavy);
        return rotate(node, heavy);
    }
    return node;
}

static pool_tree_node_t *insert_at(pool_tree_node_t *root, pool_tree_node_t *node)
{
    if (!root) return node;
    int side = pool_tree_key_compare(node->key, root->key) > 0;
    root->child[side] = insert_at(root->child[side], node);
    return rebalance(root);
}

void pool_tree_insert(pool_tree_t *tree, pool_tree_node_t *node)
{
    node->child[0] = node->child[1] = NULL;
    node->height = 1;
    tree->root = insert_at(tree->root, node);
    tree->count++;
}

/* Detaches the smallest node of a non-empty subtree into *smallest. */
static pool_tree_node_t *detach_smallest(pool_tree_node_t *root, pool_tree_node_t **smallest)
{
    if (!root->child[0]) {
        *smallest = root;
        return root->child[1];
    }
    root->child[0] = detach_smallest(root->child[0], smallest);
    return rebalance(root);
}

static pool_tree_node_t *remove_at(pool_tree_node_t *root, const pool_tree_node_t *node)
{
    if (!root) return NULL; /* absent: callers guarantee presence, so this is unreachable */
    if (root == node) {
        if (!root->child[0]) return root->child[1];
        if (!root->child[1]) return root->child[0];
        pool_tree_node_t *successor;
        pool_tree_node_t *right = detach_smallest(root->child[1], &successor);
        successor->child[0] = root->child[0];
        successor->child[1] = right;
        return rebalance(successor);
    }
    int side = pool_tree_key_compare(node->key, root->key) > 0;
    root->child[side] = remove_at(root->child[side], node);
    return rebalance(root);
}

void pool_tree_remove(pool_tree_t *tree, pool_tree_node_t *node)
{
    tree->root = remove_at(tree->root, node);
    tree->count--;
}

pool_tree_node_t *pool_tree_lower_bound(const pool_tree_t *tree, uint64_t k0, uint64_t k1,
                                        uint64_t k2)
{
    const uint64_t key[3] = {k0, k1, k2};
    pool_tree_node_t *node = tree->root, *best = NULL;
    while (node) {
        if (pool_tree_key_compare(node->key, key) >= 0) {
            best = node;
            node = node->child[0];
        } else {
            node = node->child[1];
        }
    }
    return best;
}

pool_tree_node_t *pool_tree_last_below(const pool_tree_t *tree, uint64_t k0, uint64_t k1,
                                       uint64_t k2)
{
    const uint64_t key[3] = {k0, k1, k2};
    pool_tree_node_t *node = tree->root, *best = NULL;
    while (node) {
        if (pool_tree_key_compare(node->key, key) < 0) {
            best = node;
            node = node->child[1];
        } else {
            node = node->child[0];
        }
    }
    return best;
}

pool_tree_node_t *pool_tree_first(const pool_tree_t *tree)
{
    pool_tree_node_t *node = tree->root;
    while (node && node->child[0]) node = node->child[0];
    return node;
}
