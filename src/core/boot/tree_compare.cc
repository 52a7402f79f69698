#include "core/boot/tree_compare.h"

#include <algorithm>
#include <map>
#include <set>

namespace pinet::core::boot {

std::vector<TreeMismatch> compareTreeDigests(const std::vector<std::string>& nodes,
                                             const std::vector<NodeTreeDigest>& rows) {
    const std::set<std::string> wanted(nodes.begin(), nodes.end());
    // tree -> node -> digest
    std::map<std::string, std::map<std::string, std::string>> byTree;
    for (const auto& r : rows) {
        if (wanted.count(r.node) != 0) {
            byTree[r.tree][r.node] = r.digest;
        }
    }
    std::vector<TreeMismatch> out;
    for (const auto& [tree, digests] : byTree) {
        TreeMismatch m;
        m.tree = tree;
        std::set<std::string> distinct;
        for (const auto& n : wanted) {
            auto it = digests.find(n);
            if (it == digests.end()) {
                m.missingOn.push_back(n);
            } else {
                m.presentOn.push_back(n);
                distinct.insert(it->second);
            }
        }
        m.digestsDiffer = distinct.size() > 1;
        if (!m.missingOn.empty() || m.digestsDiffer) {
            out.push_back(std::move(m));
        }
    }
    return out;
}

std::vector<FileDifference> diffManifests(const std::vector<NodeManifest>& manifests,
                                          std::size_t limit, std::size_t* total) {
    using proto::netboot::TreeEntry;
    std::vector<FileDifference> out;
    std::size_t count = 0;
    // A merge over the sorted manifests: one cursor per node.
    std::vector<std::size_t> at(manifests.size(), 0);
    while (true) {
        const std::string* next = nullptr;
        for (std::size_t i = 0; i < manifests.size(); ++i) {
            if (at[i] < manifests[i].entries.size()) {
                const std::string& p = manifests[i].entries[at[i]].path;
                if (next == nullptr || p < *next) {
                    next = &p;
                }
            }
        }
        if (next == nullptr) {
            break;
        }
        const std::string path = *next;
        FileDifference d;
        d.path = path;
        bool same = true;
        const TreeEntry* first = nullptr;
        for (std::size_t i = 0; i < manifests.size(); ++i) {
            const auto& es = manifests[i].entries;
            if (at[i] < es.size() && es[at[i]].path == path) {
                const TreeEntry& e = es[at[i]];
                if (first == nullptr) {
                    first = &e;
                } else if (e.kind != first->kind || e.sha256 != first->sha256 ||
                           e.size != first->size) {
                    same = false;
                }
                d.entries.emplace_back(e);
                ++at[i];
            } else {
                same = false;
                d.entries.emplace_back(std::nullopt);
            }
        }
        if (!same) {
            ++count;
            if (out.size() < limit) {
                out.push_back(std::move(d));
            }
        }
    }
    if (total != nullptr) {
        *total = count;
    }
    return out;
}

}  // namespace pinet::core::boot
