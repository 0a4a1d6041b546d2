// gallery's Eleventy plugin: keep escaped characters in the alt text of Markdown images.
//
// markdown-it (13 and 14, Eleventy 2 and 3) builds an image's alt from its plain-text tokens only and
// leaves out `text_special` ones: character references such as &#123; and backslash escapes. gallery's
// Markdown writes { } [ ] * _ " < > & in alt text that way (so Liquid, Markdown and HTML never run
// it), and without this plugin they vanish: `![a &#123;b&#125;](x.jpeg)` gets alt="a b".
// See https://github.com/markdown-it/markdown-it/issues/1142 and pull request #1184.
//
//   import galleryMarkdownAlt from "./gallery-markdown-alt.js";
//   export default function (eleventyConfig) { eleventyConfig.addPlugin(galleryMarkdownAlt); }
export default function galleryMarkdownAlt(eleventyConfig) {
  eleventyConfig.amendLibrary("md", (md) => {
    const asText = md.renderer.renderInlineAsText;
    md.renderer.renderInlineAsText = function (tokens, options, env) {
      const plain = tokens.map((token) => (token.type === "text_special" ? { ...token, type: "text" } : token));
      return asText.call(this, plain, options, env);
    };
  });
}
