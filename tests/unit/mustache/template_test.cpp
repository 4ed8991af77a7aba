#include "mustache/template.h"

#include <gtest/gtest.h>

#include <fstream>

namespace oceanus::mustache {
namespace {

std::string Render(const std::string& tpl, const std::string& json, bool html = false) {
  rapidjson::Document ctx;
  ctx.Parse(json.c_str());
  auto t = Template::Compile(tpl);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? t->Render(ctx, html) : "";
}

TEST(TemplateTest, VariablesAndDottedNamesIntoJsonText) {
  const std::string event =
      R"({"evt":"paid","uid":"u1","jsn":"{\"price\":1200.50,\"title\":\"A & B\",\"tags\":[\"x\",\"y\"]}"})";
  EXPECT_EQ(Render("{{evt}} by {{uid}}", event), "paid by u1");
  // Numbers inside jsn print as written, not as a re-formatted double.
  EXPECT_EQ(Render("{{jsn.price}} / {{jsn.title}} / {{jsn.tags.1}}", event), "1200.50 / A & B / y");
  // The whole JSON field renders as the text it was stored as.
  EXPECT_EQ(Render("{{jsn}}", event), R"({"price":1200.50,"title":"A & B","tags":["x","y"]})");
  EXPECT_EQ(Render("[{{missing}}] [{{jsn.missing}}] [{{evt.deeper}}]", event), "[] [] []");
}

TEST(TemplateTest, HtmlEscapingIsChosenPerRender) {
  const std::string ctx = R"({"name":"<b>O'Brien & \"co\"</b>"})";
  EXPECT_EQ(Render("{{name}}", ctx, false), R"(<b>O'Brien & "co"</b>)");
  EXPECT_EQ(Render("{{name}}", ctx, true), "&lt;b&gt;O&#39;Brien &amp; &quot;co&quot;&lt;/b&gt;");
  EXPECT_EQ(Render("{{{name}}}|{{& name}}", ctx, true),
            R"(<b>O'Brien & "co"</b>|<b>O'Brien & "co"</b>)");
}

TEST(TemplateTest, SectionsInvertedSectionsAndComments) {
  const std::string ctx =
      R"({"history":[{"evt":"a","url":"/1"},{"evt":"b","url":"/2"}],"empty":[],"uid":"","key":"k",
          "flag":true})";
  EXPECT_EQ(Render("{{#history}}{{evt}}:{{url}}({{key}});{{/history}}", ctx), "a:/1(k);b:/2(k);");
  EXPECT_EQ(Render("{{#empty}}x{{/empty}}{{^empty}}none{{/empty}}", ctx), "none");
  EXPECT_EQ(Render("{{#uid}}uid {{uid}}{{/uid}}{{^uid}}anonymous{{/uid}}", ctx), "anonymous");
  EXPECT_EQ(Render("{{#flag}}yes{{/flag}}{{! a comment }}.", ctx), "yes.");
  EXPECT_EQ(Render("{{#history}}{{.}}{{/history}}", R"({"history":["x","y"]})"), "xy");
}

TEST(TemplateTest, MistakesAreCompileErrors) {
  EXPECT_NE(Template::Compile("{{#a}}x").status().message().find("unclosed section 'a'"),
            std::string::npos);
  EXPECT_NE(Template::Compile("{{#a}}x{{/b}}").status().message().find("does not close"),
            std::string::npos);
  EXPECT_NE(Template::Compile("x {{evt").status().message().find("unclosed tag"),
            std::string::npos);
  EXPECT_NE(Template::Compile("{{> partial}}").status().message().find("partials"),
            std::string::npos);
  EXPECT_NE(Template::Compile("{{/x}}").status().message().find("closes no open section"),
            std::string::npos);
  EXPECT_TRUE(Template::Compile("plain text").ok());
  EXPECT_TRUE(Template::Compile("plain text")->is_static());
}

// An unclosed tag must not be closed by the next tag's braces (a variable named
// "jsn.title ({{url" that renders as nothing): it is a compile error with its position.
TEST(TemplateTest, UnclosedTagsAndBadNamesAreRefusedWithTheirPosition) {
  auto unclosed = Template::Compile("New: {{jsn.title ({{url}})");
  ASSERT_FALSE(unclosed.ok());
  EXPECT_EQ(unclosed.status().message(),
            "unclosed tag '{{jsn.title ({{url}})' (no }} before the next tag or the end) at line "
            "1, column 6");
  auto later_line = Template::Compile("Hello\n  {{#history}}{{evt}}\n{{/hist}}");
  ASSERT_FALSE(later_line.ok());
  EXPECT_EQ(later_line.status().message(),
            "'{{/hist}}' does not close section 'history' (opened at line 2, column 3) at line 3, "
            "column 1");
  auto spaced = Template::Compile("{{jsn.title (x)}}");
  ASSERT_FALSE(spaced.ok());
  EXPECT_NE(spaced.status().message().find("a tag names one field"), std::string::npos);
  EXPECT_NE(spaced.status().message().find("at line 1, column 1"), std::string::npos);
  EXPECT_FALSE(Template::Compile("{{#a b}}x{{/a b}}").ok());
  EXPECT_FALSE(Template::Compile("{{{x y}}}").ok());
  EXPECT_FALSE(Template::Compile("{{a..b}}").ok());
  EXPECT_FALSE(Template::Compile("{{#a}}x").status().message().find("at line 1, column 1") ==
               std::string::npos);
  // What real templates use still compiles.
  EXPECT_TRUE(
      Template::Compile("{{ evt }} {{jsn.tags.0}} {{{jsn.html}}} {{& x-y}} {{#h}}{{.}}{{/h}}")
          .ok());
}

TEST(TemplateTest, TemplateFilesAreReadAndCompiled) {
  const std::string dir = ::testing::TempDir();
  EXPECT_EQ(LoadTemplateFile(dir + "/missing.html").status().message(),
            "cannot read the template file " + dir + "/missing.html");
  std::ofstream(dir + "/t.html") << "<b>{{uid}}</b>\n{{#x}}\n";
  EXPECT_EQ(LoadTemplateFile(dir + "/t.html").status().message(),
            dir + "/t.html: unclosed section 'x' (no {{/x}}) at line 2, column 1");
  std::ofstream(dir + "/ok.html") << "<b>{{uid}}</b>\n";
  auto ok = LoadTemplateFile(dir + "/ok.html");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  rapidjson::Document ctx;
  ctx.Parse(R"({"uid":"u"})");
  EXPECT_EQ(ok->Render(ctx, true), "<b>u</b>\n");
}

// Found by tests/fuzz/fuzz_template: any string field is looked into as JSON (here through a
// section over it, as the report mail does with `tit`), and the parser recursed once per
// level — a million '[' overflowed the stack. Deeper than 64 levels is not looked into.
TEST(TemplateTest, DeeplyNestedJsonTextIsNotLookedInto) {
  rapidjson::Document ctx;
  ctx.SetObject();
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  ctx.AddMember("tit", rapidjson::Value(deep.c_str(), ctx.GetAllocator()), ctx.GetAllocator());
  const std::string shallow = std::string(64, '[') + "\"x\"" + std::string(64, ']');
  ctx.AddMember("jsn", rapidjson::Value(shallow.c_str(), ctx.GetAllocator()), ctx.GetAllocator());
  auto t = Template::Compile("{{#tit}}[{{x}}]{{/tit}}{{tit.0}}|{{jsn.0.0}}");
  ASSERT_TRUE(t.ok());
  const std::string out = t->Render(ctx, false);
  EXPECT_EQ(out, "[]|" + std::string(62, '[') + "\"x\"" + std::string(62, ']'));
}

}  // namespace
}  // namespace oceanus::mustache
