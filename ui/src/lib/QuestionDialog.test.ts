import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it } from "vitest";
import QuestionDialog from "./QuestionDialog.svelte";
import { QUESTION_EVENT } from "./ipc";
import type { AskedQuestion } from "./bindings";

afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve, 0));
  clearMocks();
});

function recordAnswers() {
  const answers: unknown[] = [];
  mockIPC(
    (cmd, args) => {
      if (cmd === "answer_question") answers.push(args);
    },
    { shouldMockEvents: true },
  );
  return answers;
}

describe("QuestionDialog", () => {
  it("waits for a browser login with its address and code, and goes away once connected", async () => {
    const answers = recordAnswers();
    render(QuestionDialog);
    await emit(QUESTION_EVENT, {
      id: 3,
      cluster: "leonardo",
      question: {
        kind: "browserLogin",
        destination: "leonardo",
        url: "https://idp.example/device?user_code=ABCD-EFGH",
        code: "ABCD-EFGH",
      },
    } satisfies AskedQuestion);
    const dialog = await screen.findByRole("dialog", {
      name: "Log in to leonardo in your browser",
    });
    expect(dialog.querySelector("[data-code]")?.textContent).toBe("ABCD-EFGH");
    expect(dialog.querySelector("[data-login-url]")?.textContent).toContain("idp.example");
    // Nothing to type or confirm here: the login happens in the browser.
    expect(screen.queryByRole("button", { name: "Continue" })).toBeNull();
    await emit("cluster-state", { cluster: "other", state: { state: "connected" } });
    expect(screen.queryByRole("dialog")).not.toBeNull();
    // The next question of the same login (the host's identity) replaces the browser step.
    await emit(QUESTION_EVENT, {
      id: 4,
      cluster: "leonardo",
      question: { kind: "password", destination: "leonardo" },
    } satisfies AskedQuestion);
    await screen.findByRole("dialog", { name: "Password for leonardo" });
    await fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    await expect.poll(() => answers).toEqual([{ id: 4, answer: { kind: "cancel" } }]);
    answers.length = 0;
    await emit(QUESTION_EVENT, {
      id: 5,
      cluster: "leonardo",
      question: { kind: "browserLogin", destination: "leonardo", url: "https://idp/x", code: null },
    } satisfies AskedQuestion);
    await screen.findByRole("dialog", { name: "Log in to leonardo in your browser" });
    expect(screen.queryByRole("dialog")).not.toBeNull();
    await emit("cluster-state", { cluster: "leonardo", state: { state: "connected" } });
    await expect.poll(() => screen.queryByRole("dialog")).toBeNull();
    expect(answers).toEqual([]);
  });

  it("shows a one-time-code round as the server sent it and hides what is typed", async () => {
    const answers = recordAnswers();
    render(QuestionDialog);
    const asked: AskedQuestion = {
      id: 7,
      cluster: "lab",
      question: {
        kind: "keyboardInteractive",
        destination: "bob@127.0.0.1:2222",
        name: "",
        instructions: "",
        prompts: [{ text: "Verification code: ", echo: false }],
      },
    };
    await emit(QUESTION_EVENT, asked);
    const input = (await screen.findByLabelText("Verification code:")) as HTMLInputElement;
    expect(input.type).toBe("password");
    await fireEvent.input(input, { target: { value: "123456" } });
    await fireEvent.click(screen.getByRole("button", { name: "Continue" }));
    await expect
      .poll(() => answers)
      .toEqual([{ id: 7, answer: { kind: "texts", texts: ["123456"] } }]);
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("asks about an unknown host with its fingerprint, and Cancel refuses it", async () => {
    const answers = recordAnswers();
    render(QuestionDialog);
    await emit(QUESTION_EVENT, {
      id: 1,
      cluster: "lumi",
      question: {
        kind: "unknownHostKey",
        host: "lumi.csc.fi",
        port: 22,
        algorithm: "ssh-ed25519",
        fingerprint: "SHA256:abc",
      },
    } satisfies AskedQuestion);
    const dialog = await screen.findByRole("dialog");
    expect(dialog.textContent).toContain("SHA256:abc");
    expect(dialog.textContent).toContain("Is this really lumi.csc.fi?");
    await fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    await expect.poll(() => answers).toEqual([{ id: 1, answer: { kind: "cancel" } }]);
  });

  it("labels a passphrase field as a passphrase, not with the button's word", async () => {
    const answers = recordAnswers();
    render(QuestionDialog);
    await emit(QUESTION_EVENT, {
      id: 3,
      cluster: "lab",
      question: { kind: "keyPassphrase", keyPath: "/home/ada/.ssh/id_ed25519" },
    });
    const input = (await screen.findByLabelText("Passphrase")) as HTMLInputElement;
    expect(input.type).toBe("password");
    await fireEvent.input(input, { target: { value: "s3cret" } });
    await fireEvent.click(screen.getByRole("button", { name: "Continue" }));
    await expect
      .poll(() => answers)
      .toEqual([{ id: 3, answer: { kind: "texts", texts: ["s3cret"] } }]);
  });
});
