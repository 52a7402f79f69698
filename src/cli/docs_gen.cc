// Man pages (roff, man(7) macros) and bash/zsh completions from the CLI11
// tree. Everything here reads only what --help reads (names, descriptions,
// type names, defaults, visible groups), so a page lists exactly what the
// command's --help lists; tests/integration/man_pages.sh checks that.

#include "cli/docs_gen.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cli/command.h"
#include "io/file.h"
#include "io/fs/file_ops.h"

namespace pinet::cli {
namespace {

/// Subcommands that --help shows: CLI11 hides those whose group is "".
std::vector<const CLI::App*> visibleSubcommands(const CLI::App& app) {
    std::vector<const CLI::App*> out;
    for (const CLI::App* sub : app.get_subcommands({})) {
        if (!sub->get_group().empty() && !sub->get_disabled()) {
            out.push_back(sub);
        }
    }
    return out;
}

/// Options that --help shows (group "" is hidden), in definition order.
std::vector<const CLI::Option*> visibleOptions(const CLI::App& app) {
    std::vector<const CLI::Option*> out;
    for (const CLI::Option* opt : app.get_options({})) {
        if (!opt->get_group().empty()) {
            out.push_back(opt);
        }
    }
    return out;
}

/// Escapes text for a roff line: backslashes, hyphens (so that options stay
/// ASCII '-' and copy-paste works), and a leading '.' or '\'' that roff
/// would read as a request.
std::string roffEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    bool lineStart = true;
    for (char c : text) {
        if (lineStart && (c == '.' || c == '\'')) {
            out += "\\&";
        }
        switch (c) {
            case '\\': out += "\\e"; break;
            case '-': out += "\\-"; break;
            default: out += c;
        }
        lineStart = c == '\n';
    }
    return out;
}

/// Descriptions may hold blank lines (paragraphs): roff wants .PP there.
std::string roffParagraphs(std::string_view text) {
    std::string out;
    std::string esc = roffEscape(text);
    std::size_t pos = 0;
    while (pos < esc.size()) {
        std::size_t nl = esc.find('\n', pos);
        std::string_view line = std::string_view(esc).substr(
            pos, nl == std::string::npos ? std::string::npos : nl - pos);
        out += line.empty() ? std::string(".PP") : std::string(line);
        out += '\n';
        if (nl == std::string::npos) {
            break;
        }
        pos = nl + 1;
    }
    return out;
}

/// Appends a sentence, ending the text before it with a full stop.
std::string addSentence(std::string text, std::string_view sentence) {
    if (!text.empty() && text.back() != '.') {
        text += '.';
    }
    return text + (text.empty() ? "" : " ") + std::string(sentence);
}

/// "-i, --interface" for an option, or "FILE" for a positional.
std::string optionNames(const CLI::Option& opt) {
    std::string names;
    for (const auto& s : opt.get_snames()) {
        names += (names.empty() ? "" : ", ") + std::string("\\fB\\-") + roffEscape(s) + "\\fR";
    }
    for (const auto& l : opt.get_lnames()) {
        names += (names.empty() ? "" : ", ") + std::string("\\fB\\-\\-") + roffEscape(l) + "\\fR";
    }
    if (names.empty()) {
        return "\\fI" + roffEscape(opt.get_name(true)) + "\\fR";
    }
    if (opt.get_items_expected_max() != 0 && !opt.get_type_name().empty()) {
        names += " \\fI" + roffEscape(opt.get_type_name()) + "\\fR";
    }
    return names;
}

void renderOptions(std::string& out, const CLI::App& cmd) {
    for (const CLI::Option* opt : visibleOptions(cmd)) {
        out += ".TP\n" + optionNames(*opt) + "\n";
        std::string text = opt->get_description();
        if (opt->get_required()) {
            text = addSentence(text, "Required.");
        }
        if (!opt->get_default_str().empty()) {
            text = addSentence(text, fmt::format("Default: {}.", opt->get_default_str()));
        }
        out += roffParagraphs(text.empty() ? std::string(" ") : text);
    }
}

/// "pinetboot client add" for a nested command.
std::string commandPath(const CLI::App& cmd) {
    std::string path = cmd.get_name();
    for (const CLI::App* p = cmd.get_parent(); p != nullptr; p = p->get_parent()) {
        path = p->get_name() + " " + path;
    }
    return path;
}

std::string synopsis(const CLI::App& cmd) {
    std::string s = "\\fB" + roffEscape(commandPath(cmd)) + "\\fR";
    bool hasFlags = false;
    std::string positionals;
    for (const CLI::Option* opt : visibleOptions(cmd)) {
        if (opt->get_lnames().empty() && opt->get_snames().empty()) {
            positionals += " \\fI" + roffEscape(opt->get_name(true)) + "\\fR";
        } else {
            hasFlags = true;
        }
    }
    if (hasFlags) {
        s += " [\\fIOPTIONS\\fR]";
    }
    if (!visibleSubcommands(cmd).empty()) {
        s += " \\fICOMMAND\\fR";
    }
    return s + positionals + "\n";
}

std::string pageName(const CLI::App& command) {
    return "pinetboot-" + command.get_name();
}

/// Descriptions and footers, and every nested command as its own subsection.
void renderNested(std::string& out, const CLI::App& cmd) {
    for (const CLI::App* sub : visibleSubcommands(cmd)) {
        out += ".SS \"" + roffEscape(commandPath(*sub)) + "\"\n";
        out += synopsis(*sub) + ".br\n";
        if (!sub->get_description().empty()) {
            out += roffParagraphs(sub->get_description());
        }
        if (!sub->get_footer().empty()) {
            out += ".PP\n" + roffParagraphs(sub->get_footer());
        }
        renderOptions(out, *sub);
        renderNested(out, *sub);
    }
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    });
    return s;
}

/// A header without a date: the page is a build product, and a date would
/// make the package differ on every build.
std::string header(const std::string& name, const std::string& version) {
    return fmt::format(
        ".\\\" Generated by `pinetboot-full __docs` from the CLI definitions; do not edit.\n"
        ".TH {} 1 \"\" \"{}\" \"pinetboot manual\"\n",
        roffEscape(upper(name)), roffEscape(version));
}

/// bash/zsh single-quoted word.
std::string shellQuote(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

/// Every path of the tree ("pinetboot", "pinetboot client", ...) with its
/// subcommands, option names and the options that take a value.
struct CompletionNode {
    std::vector<std::pair<std::string, std::string>> subs;  // name, description
    std::vector<std::string> options;
    std::vector<std::string> valueOptions;
};

void collect(const CLI::App& cmd, const std::string& path,
             std::vector<std::pair<std::string, CompletionNode>>& nodes) {
    CompletionNode node;
    for (const CLI::App* sub : visibleSubcommands(cmd)) {
        std::string desc = sub->get_description();
        desc = desc.substr(0, desc.find('\n'));
        node.subs.emplace_back(sub->get_name(), desc);
    }
    for (const CLI::Option* opt : visibleOptions(cmd)) {
        std::vector<std::string> names;
        for (const auto& s : opt->get_snames()) {
            names.push_back("-" + s);
        }
        for (const auto& l : opt->get_lnames()) {
            names.push_back("--" + l);
        }
        for (const auto& n : names) {
            node.options.push_back(n);
            if (opt->get_items_expected_max() != 0) {
                node.valueOptions.push_back(n);
            }
        }
    }
    nodes.emplace_back(path, std::move(node));
    for (const CLI::App* sub : visibleSubcommands(cmd)) {
        collect(*sub, path + " " + sub->get_name(), nodes);
    }
}

std::string joinWords(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) {
        out += (out.empty() ? "" : " ") + w;
    }
    return out;
}

std::string subNames(const CompletionNode& node) {
    std::vector<std::string> names;
    for (const auto& [n, d] : node.subs) {
        names.push_back(n);
    }
    return joinWords(names);
}

Result<void> ensureDirectory(const std::filesystem::path& dir) {
    auto st = io::statNoFollow(dir);
    if (!st) {
        return tl::unexpected(st.error());
    }
    if (*st) {
        return {};
    }
    return io::makeDirectory(dir, 0755);
}

}  // namespace

std::string renderManPage(const CLI::App& app, const CLI::App& command,
                          const std::string& version) {
    const std::string name = pageName(command);
    std::string out = header(name, version);
    std::string summary = command.get_description();
    summary = summary.substr(0, summary.find('\n'));
    out += ".SH NAME\n" + roffEscape(name) + " \\- " + roffEscape(summary) + "\n";
    out += ".SH SYNOPSIS\n" + synopsis(command);
    out += ".SH DESCRIPTION\n" + roffParagraphs(command.get_description());
    if (!command.get_footer().empty()) {
        out += ".PP\n" + roffParagraphs(command.get_footer());
    }
    out += ".SH OPTIONS\n";
    renderOptions(out, command);
    out +=
        ".PP\nThe options of \\fBpinetboot\\fR(1) (\\fB\\-v\\fR, \\fB\\-\\-verbose\\fR) "
        "come before the command.\n";
    if (!visibleSubcommands(command).empty()) {
        out += ".SH COMMANDS\n";
        renderNested(out, command);
    }
    out +=
        ".SH EXIT STATUS\n0 on success, 1 when the operation failed, 2 for a bad command line.\n";
    out += ".SH SEE ALSO\n\\fBpinetboot\\fR(1)";
    for (const CLI::App* other : visibleSubcommands(app)) {
        if (other != &command) {
            out += ", \\fB" + roffEscape(pageName(*other)) + "\\fR(1)";
        }
    }
    return out + "\n";
}

std::string renderRootManPage(const CLI::App& app, const std::string& version) {
    std::string out = header("pinetboot", version);
    out += ".SH NAME\npinetboot \\- " +
           roffEscape(
               app.get_description().substr(app.get_description().find(": ") == std::string::npos
                                                ? 0
                                                : app.get_description().find(": ") + 2)) +
           "\n";
    out += ".SH SYNOPSIS\n" + synopsis(app) + ".SH DESCRIPTION\n" +
           roffParagraphs(app.get_description()) +
           ".PP\nEach command has its own page, named below; \\fBpinetboot\\fR \\fICOMMAND\\fR "
           "\\fB\\-\\-help\\fR prints the same options.\n";
    out += ".SH OPTIONS\n";
    renderOptions(out, app);
    out += ".SH COMMANDS\n";
    for (const CLI::App* cmd : visibleSubcommands(app)) {
        out += ".TP\n\\fB" + roffEscape(cmd->get_name()) + "\\fR\n" +
               roffEscape(addSentence(cmd->get_description(), "See ")) + "\\fB" +
               roffEscape(pageName(*cmd)) + "\\fR(1).\n";
    }
    out +=
        ".SH ENVIRONMENT\n"
        ".TP\n.B PINETBOOT_STATE_DIR\nThe state directory (client registry, images), when "
        "\\fB\\-\\-state\\-dir\\fR is not given; default \\fI/var/lib/pinetboot\\fR.\n"
        ".TP\n.B PINETBOOT_STORE_URL\nA PostgreSQL URL (\\fIpostgresql://user@host/db\\fR): the "
        "client registry is kept in that database instead of SQLite, over the "
        "configuration's \\fB[store]\\fR.\n"
        ".TP\n.B PINETBOOT_LOG\nLog level: trace, debug, info, warn, error, critical, off.\n";
    out +=
        ".SH FILES\n"
        ".TP\n.I /etc/pinetboot.toml\nThe configuration \\fBpinetboot serve\\fR "
        "\\fB\\-\\-config\\fR "
        "reads in the systemd unit; an example is in "
        "\\fI/usr/share/doc/pinetboot/examples/pinetboot.toml\\fR, every key in "
        "\\fI/usr/share/doc/pinetboot/configuration.md\\fR.\n"
        ".TP\n.I /var/lib/pinetboot\nThe state directory.\n";
    out +=
        ".SH EXIT STATUS\n0 on success, 1 when the operation failed, 2 for a bad command line.\n";
    out += ".SH SEE ALSO\n";
    std::string sep;
    for (const CLI::App* cmd : visibleSubcommands(app)) {
        out += sep + "\\fB" + roffEscape(pageName(*cmd)) + "\\fR(1)";
        sep = ", ";
    }
    return out + "\n";
}

std::string renderBashCompletion(const CLI::App& app) {
    std::vector<std::pair<std::string, CompletionNode>> nodes;
    collect(app, app.get_name(), nodes);
    std::string subs;
    std::string opts;
    std::string vals;
    for (const auto& [path, node] : nodes) {
        subs += fmt::format("    [{}]={}\n", shellQuote(path), shellQuote(subNames(node)));
        opts += fmt::format("    [{}]={}\n", shellQuote(path), shellQuote(joinWords(node.options)));
        vals += fmt::format("    [{}]={}\n", shellQuote(path),
                            shellQuote(joinWords(node.valueOptions)));
    }
    // -g: bash-completion sources this file inside a function.
    return fmt::format(
        R"(# bash completion for pinetboot
# Generated by `pinetboot-full __docs` from the CLI definitions; do not edit.
declare -gA _pinetboot_subs=(
{})
declare -gA _pinetboot_opts=(
{})
declare -gA _pinetboot_valopts=(
{})

# Walks the words before the cursor down the command tree (skipping options
# and their values), then offers that command's subcommands or options; an
# option's value or a positional argument falls back to file names.
_pinetboot() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} path=pinetboot w i skip=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${{COMP_WORDS[i]}}
        if ((skip)); then
            skip=0
            continue
        fi
        if [[ $w == -* ]]; then
            [[ $w != *=* && " ${{_pinetboot_valopts[$path]}} " == *" $w "* ]] && skip=1
            continue
        fi
        [[ " ${{_pinetboot_subs[$path]}} " == *" $w "* ]] && path+=" $w"
    done
    COMPREPLY=()
    ((skip)) && return 0
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${{_pinetboot_opts[$path]}}" -- "$cur")
    elif [[ -n ${{_pinetboot_subs[$path]}} ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${{_pinetboot_subs[$path]}}" -- "$cur")
    fi
    return 0
}}
complete -o default -F _pinetboot pinetboot
)",
        subs, opts, vals);
}

std::string renderZshCompletion(const CLI::App& app) {
    std::vector<std::pair<std::string, CompletionNode>> nodes;
    collect(app, app.get_name(), nodes);
    std::string subs;
    std::string opts;
    std::string vals;
    for (const auto& [path, node] : nodes) {
        std::string described;
        for (const auto& [n, d] : node.subs) {
            described += (described.empty() ? "" : "\n") + n + ":" + d;
        }
        subs += fmt::format("    {} {}\n", shellQuote(path), shellQuote(described));
        opts += fmt::format("    {} {}\n", shellQuote(path), shellQuote(joinWords(node.options)));
        vals +=
            fmt::format("    {} {}\n", shellQuote(path), shellQuote(joinWords(node.valueOptions)));
    }
    return fmt::format(
        R"(#compdef pinetboot
# zsh completion for pinetboot
# Generated by `pinetboot-full __docs` from the CLI definitions; do not edit.
typeset -gA _pinetboot_subs _pinetboot_opts _pinetboot_valopts
_pinetboot_subs=(
{})
_pinetboot_opts=(
{})
_pinetboot_valopts=(
{})

_pinetboot() {{
    local cmdpath=pinetboot w i skip=0
    local -a described
    for ((i = 2; i < CURRENT; i++)); do
        w=${{words[i]}}
        if ((skip)); then
            skip=0
            continue
        fi
        if [[ $w == -* ]]; then
            [[ $w != *=* && " ${{_pinetboot_valopts[$cmdpath]}} " == *" $w "* ]] && skip=1
            continue
        fi
        described=(${{(f)_pinetboot_subs[$cmdpath]}})
        (( ${{described[(I)$w:*]}} )) && cmdpath+=" $w"
    done
    if ((skip)); then
        _files
    elif [[ $PREFIX == -* ]]; then
        compadd -- ${{=_pinetboot_opts[$cmdpath]}}
    elif [[ -n ${{_pinetboot_subs[$cmdpath]}} ]]; then
        described=(${{(f)_pinetboot_subs[$cmdpath]}})
        _describe -t commands command described
    else
        _files
    fi
}}

_pinetboot "$@"
)",
        subs, opts, vals);
}

int generateDocs(const CLI::App& app, int argc, char** argv) {
    std::string outDir;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::string_view(argv[i]) == "--out-dir") {
            outDir = argv[i + 1];
        }
    }
    if (outDir.empty()) {
        printError(std::string(kDocsCommand) + ": give --out-dir DIR");
        return kExitUsage;
    }
    const std::filesystem::path root(outDir);
    std::vector<std::pair<std::filesystem::path, std::string>> files;
    std::string version;
    try {
        // The version flag's own text ("pinetboot 0.1.0"), as --version prints it.
        version = app.version();
    } catch (const std::exception&) {
        version = "pinetboot";
    }
    files.emplace_back(root / "man" / "pinetboot.1", renderRootManPage(app, version));
    for (const CLI::App* cmd : visibleSubcommands(app)) {
        files.emplace_back(root / "man" / (pageName(*cmd) + ".1"),
                           renderManPage(app, *cmd, version));
    }
    files.emplace_back(root / "bash-completion" / "pinetboot", renderBashCompletion(app));
    files.emplace_back(root / "zsh" / "_pinetboot", renderZshCompletion(app));
    for (const auto& dir : {root, root / "man", root / "bash-completion", root / "zsh"}) {
        if (auto made = ensureDirectory(dir); !made) {
            printError(made.error().message);
            return kExitFailure;
        }
    }
    for (const auto& [path, text] : files) {
        if (auto written = io::writeFileAtomic(path, text, 0644); !written) {
            printError(written.error().message);
            return kExitFailure;
        }
    }
    std::cout << fmt::format("{}: {} files in {}\n", kDocsCommand, files.size(), outDir);
    return kExitOk;
}

}  // namespace pinet::cli
