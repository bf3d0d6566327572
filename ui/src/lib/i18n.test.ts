import { describe, expect, it } from "vitest";
import { en, languages, setLanguage, translate, type Language, type MessageKey } from "./i18n";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("catalogues", () => {
  const keys = Object.keys(en) as MessageKey[];
  for (const lang of Object.keys(languages) as Language[]) {
    it(`${lang} says every message, with the same placeholders as English`, () => {
      for (const key of keys) {
        const text = translate(lang, key);
        expect(text.trim(), key).not.toBe("");
        expect(placeholders(text), key).toEqual(placeholders(en[key]));
      }
    });
  }

  it("French is not English left untranslated", () => {
    // Proper names and bare placeholders ("Slurm {version}") read the same in both.
    const words = (text: string) => text.replace(/\{\w+\}|[^\p{L}]/gu, "");
    const sameWord: MessageKey[] = [
      "draft.partition",
      "term.scratch.expert",
      "time.minutes",
      "browse.place.scratch",
      "nav.sessions",
    ];
    const same = keys.filter(
      (k) => translate("fr", k) === en[k] && words(en[k]).length > 5 && !sameWord.includes(k),
    );
    expect(same).toEqual([]);
  });

  it("fills placeholders and remembers the choice", () => {
    expect(translate("fr", "clusters.hoursLeft", { hours: 12 })).toBe("12 heures GPU restantes");
    let reloaded = false;
    setLanguage("fr", () => (reloaded = true));
    expect(reloaded).toBe(true);
    expect(localStorage.getItem("usine.language")).toBe("fr");
    setLanguage("en", () => {});
  });
});
