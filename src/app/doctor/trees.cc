#include "app/doctor/trees.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "app/serve/node_service.h"
#include "app/settings.h"
#include "core/boot/tree_compare.h"
#include "io/fs/tree_hash.h"
#include "io/registry/node_store.h"
#include "proto/netboot/tree_manifest.h"
#include "proto/text/safe_text.h"

namespace pinet::app {

namespace fs = std::filesystem;
namespace nb = proto::netboot;

namespace {

constexpr const char* kCheck = "trees";

std::string safe(std::string_view s) {
    return proto::text::safeText(s, 256);  // a node id, a tree name: short
}

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) {
        s += (s.empty() ? "" : ", ") + x;
    }
    return s;
}

std::string shortEntry(const std::optional<nb::TreeEntry>& e) {
    if (!e) {
        return "missing";
    }
    return fmt::format("{}{} {} B", e->kind == nb::TreeEntry::Kind::Link ? "link " : "",
                       e->sha256.substr(0, 12), e->size);
}

std::string fixFor(const std::string& tree, const fs::path& root) {
    const std::string dir = tree == "." ? root.string() + "/" : (root / tree).string() + "/";
    return fmt::format(
        "copy {} from the node whose files are right to the others (rsync -a --delete "
        "--checksum NODE:{} {}), or keep the TFTP root on storage every node mounts; each "
        "node's serve publishes its trees again within [store] tree_check_seconds",
        dir, dir, dir);
}

}  // namespace

void setTreeOptions(DoctorOptions& opts, const config::Config& c, const io::StoreLocation& where) {
    opts.store = where;
    opts.nodeId = serve::sanitizeNodeId(c.storeNodeId.empty() ? io::hostName() : c.storeNodeId);
    opts.tftpRoot = c.tftpRoot.empty() ? StatePaths{c.stateDir}.tftp() : fs::path(c.tftpRoot);
}

std::vector<Finding> checkNodeTrees(const fs::path& stateDir, const io::StoreLocation& where,
                                    const std::string& self, const fs::path& tftpRoot) {
    std::vector<Finding> out;
    auto store = io::NodeStore::open(stateDir, where);
    if (!store) {
        out.push_back({Severity::Warn, kCheck,
                       "cannot compare the nodes' boot trees: " + store.error().message,
                       "check [store] url and that PostgreSQL answers (pinetboot store migrate)"});
        return out;
    }
    auto nodes = (*store)->nodes();
    auto digests = (*store)->treeDigests();
    if (!nodes || !digests) {
        out.push_back({Severity::Warn, kCheck,
                       "cannot read the nodes' boot trees: " +
                           (nodes ? digests.error().message : nodes.error().message),
                       "pinetboot store migrate (the node_trees table is schema 4)"});
        return out;
    }
    io::TreeHasher hasher;
    auto mine = hasher.hashRoot(tftpRoot);
    if (!mine) {
        out.push_back({Severity::Fail, kCheck, mine.error().message,
                       "set [tftp] root (or serve --root) to the boot tree directory"});
        return out;
    }

    // The nodes compared: this one, and the others heard from recently that published.
    std::set<std::string> published;
    std::vector<core::boot::NodeTreeDigest> rows;
    for (const auto& r : *digests) {
        const std::string node = safe(r.node);
        if (node == self) {
            continue;  // this node: its trees as they are now, below
        }
        published.insert(node);
        rows.push_back({node, safe(r.tree), safe(r.digest), static_cast<std::uint64_t>(r.files)});
    }
    std::map<std::string, io::HashedTree*> local;
    for (auto& t : *mine) {
        rows.push_back({self, t.name, t.digest, t.files});
        local[t.name] = &t;
        if (!t.problem.empty()) {
            out.push_back({Severity::Warn, kCheck,
                           fmt::format("boot tree {} on this node: {}", t.name, t.problem), ""});
        }
    }
    std::vector<std::string> compared{self};
    for (const auto& n : *nodes) {
        const std::string id = safe(n.id);
        if (id == self || n.ageMs > std::chrono::milliseconds(kTreeNodeRecent).count()) {
            continue;
        }
        if (published.count(id) == 0) {
            out.push_back(
                {Severity::Warn, kCheck,
                 fmt::format("node {} has published no boot trees, so they are not compared", id),
                 "check that its serve runs on this store (its log says TREES_PUBLISHED, or "
                 "TREES_PUBLISH_FAILED with the reason)"});
            continue;
        }
        compared.push_back(id);
    }
    std::sort(compared.begin() + 1, compared.end());
    if (compared.size() == 1) {
        out.push_back(
            {Severity::Info, kCheck,
             fmt::format("no other node to compare boot trees with ({} trees here)", mine->size()),
             ""});
        return out;
    }

    const auto mismatches = core::boot::compareTreeDigests(compared, rows);
    std::size_t files = 0;
    for (const auto& t : *mine) {
        files += t.files;
    }
    if (mismatches.empty()) {
        out.push_back({Severity::Ok, kCheck,
                       fmt::format("boot trees the same on {} nodes ({}): {} trees, {} files, by "
                                   "SHA-256",
                                   compared.size(), joined(compared), mine->size(), files),
                       ""});
        return out;
    }
    std::size_t named = 0;
    for (const auto& m : mismatches) {
        if (named == kTreeFindings) {
            out.push_back({Severity::Fail, kCheck,
                           fmt::format("{} more boot trees differ between nodes (not named)",
                                       mismatches.size() - named),
                           fixFor("TREE", tftpRoot)});
            break;
        }
        ++named;
        const std::string what =
            m.tree == "." ? "the files at the top of the TFTP root" : "boot tree " + m.tree;
        if (!m.digestsDiffer) {
            out.push_back({Severity::Fail, kCheck,
                           fmt::format("{} is on {} but not on {}", what, joined(m.presentOn),
                                       joined(m.missingOn)),
                           fixFor(m.tree, tftpRoot)});
            continue;
        }
        // The manifests, file by file: this node's from the walk, the others' stored.
        std::vector<core::boot::NodeManifest> manifests;
        std::string unreadable;
        auto stored = (*store)->treeManifests(m.tree);
        for (const auto& node : m.presentOn) {
            core::boot::NodeManifest nm{node, {}};
            std::string text;
            if (node == self) {
                text = local.at(m.tree)->manifest;
            } else if (stored) {
                auto it = std::find_if(stored->begin(), stored->end(),
                                       [&](const io::TreeRow& r) { return safe(r.node) == node; });
                if (it != stored->end()) {
                    text = it->manifest;
                    if (!it->problem.empty()) {
                        unreadable += fmt::format(" ({}'s: {})", node, safe(it->problem));
                    }
                }
            }
            auto entries = nb::decodeTreeManifest(text);
            if (!entries) {
                unreadable += fmt::format(" ({}'s manifest: {})", node, entries.error().message);
                continue;
            }
            nm.entries = std::move(*entries);
            manifests.push_back(std::move(nm));
        }
        std::size_t total = 0;
        const auto diffs = core::boot::diffManifests(manifests, kTreeFilesNamed, &total);
        std::string list;
        for (const auto& d : diffs) {
            std::string per;
            for (std::size_t i = 0; i < d.entries.size(); ++i) {
                per += fmt::format("{}{} {}", per.empty() ? "" : ", ", manifests[i].node,
                                   shortEntry(d.entries[i]));
            }
            list += fmt::format("{}{} ({})", list.empty() ? "" : "; ", d.path, per);
        }
        if (total > diffs.size()) {
            list += fmt::format("; and {} more", total - diffs.size());
        }
        std::string message =
            fmt::format("{} {} between {}: {}{}", what, m.tree == "." ? "differ" : "differs",
                        joined(m.presentOn),
                        list.empty() ? "the files could not be compared" : list, unreadable);
        if (!m.missingOn.empty()) {
            message += fmt::format("; it is not on {}", joined(m.missingOn));
        }
        out.push_back({Severity::Fail, kCheck, std::move(message), fixFor(m.tree, tftpRoot)});
    }
    return out;
}

}  // namespace pinet::app
