import { describe, expect, it } from "vitest";
import { SystemEvent, type Message } from "../../src/protocol";
import { archiveBucket } from "../helpers/archiveFaults";
import { api, createGroup, directConversation, quickUsers, text } from "../helpers/client";

const events = (messages: Message[]) =>
  messages.filter((m) => m.content_type === "system").map((m) => SystemEvent.parse(JSON.parse(m.content)).event);

describe("group settings and reports", () => {
  it("description and settings: who may change them, each change a system message, and 'only admins can send' enforced", async () => {
    const [ana, bo, cy] = await quickUsers(3, "gset");
    const group = await createGroup(ana!, [bo!, cy!], "weekend");
    const path = `/api/v1/conversations/${group}`;
    const patch = (who: typeof ana, body: object) => api("PATCH", path, { token: who!.token, body });

    // A new group: no description; info is the admins', everyone may send.
    const initial = await api("GET", path, { token: bo!.token });
    expect(initial.body.conversation).toMatchObject({ description: "", settings: { only_admins_send: false, only_admins_edit_info: true } });

    expect(await patch(bo, { name: "bo's group" })).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    expect(await patch(bo, { only_admins_edit_info: false })).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    expect(await patch(ana, {})).toMatchObject({ status: 400, body: { error: { code: "bad_request" } } });
    expect(await patch(ana, { description: "x".repeat(513) })).toMatchObject({ status: 400 });
    const direct = await directConversation(ana!, bo!);
    expect((await api("PATCH", `/api/v1/conversations/${direct}`, { token: ana!.token, body: { description: "us" } })).body.error.code).toBe("not_a_group");

    // The admin describes the group and lets everyone edit its info.
    const changed = await patch(ana, { description: "Plans for Saturday", only_admins_edit_info: false });
    expect(changed.status).toBe(200);
    expect(changed.body.conversation).toMatchObject({ description: "Plans for Saturday", settings: { only_admins_send: false, only_admins_edit_info: false } });
    // …so now a member may rename it (and describe it), but still not change the settings.
    expect((await patch(bo, { name: "Saturday" })).status).toBe(200);
    expect((await patch(bo, { only_admins_send: true })).status).toBe(403);

    // Only admins send: a member's message and forward are refused, a reaction is not; the admin's goes.
    expect((await patch(ana, { only_admins_send: true })).status).toBe(200);
    const refused = await api("POST", `${path}/messages`, { token: bo!.token, body: text("can I?", "b1") });
    expect(refused).toMatchObject({ status: 403, body: { error: { code: "forbidden", message: "only admins can send messages in this group" } } });
    const announced = await api("POST", `${path}/messages`, { token: ana!.token, body: text("Meet at 10", "a1") });
    expect(announced.status).toBe(201);
    const reacted = await api("POST", `${path}/messages/${announced.body.server_msg_id}/actions`, {
      token: bo!.token,
      body: { action: "reaction", content: "👍", client_msg_id: "x1" },
    });
    expect(reacted.status).toBe(201);
    const elsewhere = await directConversation(bo!, cy!);
    const fwdMsg = await api("POST", `/api/v1/conversations/${elsewhere}/messages`, { token: bo!.token, body: text("look", "f0") });
    const forward = await api("POST", `/api/v1/conversations/${elsewhere}/messages/${fwdMsg.body.server_msg_id}/forward`, {
      token: bo!.token,
      body: { conversation_ids: [group], client_msg_id: "f1" },
    });
    expect(forward.body.results[0].error.code).toBe("forbidden");
    // Back to everyone: the member sends again.
    expect((await patch(ana, { only_admins_send: false })).status).toBe(200);
    expect((await api("POST", `${path}/messages`, { token: bo!.token, body: text("now I can", "b2") })).status).toBe(201);

    // Every change is in the sequence, for every member's devices and history; a repeat of the
    // current value changes nothing.
    expect((await patch(ana, { description: "Plans for Saturday" })).status).toBe(200);
    const history = await api("GET", `${path}/messages?limit=100`, { token: cy!.token });
    expect(events(history.body.messages)).toEqual(["group_created", "description_changed", "settings_changed", "renamed", "settings_changed", "settings_changed"]);
    const last = history.body.messages.filter((m: Message) => m.content_type === "system").at(-1);
    expect(JSON.parse(last.content)).toMatchObject({ event: "settings_changed", actor: ana!.user.user_id, settings: { only_admins_send: false, only_admins_edit_info: false } });
    // The user objects keep the list's name from the rename.
    const list = await api("GET", "/api/v1/conversations", { token: cy!.token });
    expect(list.body.conversations.find((c: { conversation_id: string }) => c.conversation_id === group).name).toBe("Saturday");
  });

  it("a member reports a group to the operators with its newest messages, and leaves it", async () => {
    const [ana, bo, eve] = await quickUsers(3, "rep");
    const group = await createGroup(ana!, [bo!], "deals");
    for (let i = 1; i <= 7; i++) await api("POST", `/api/v1/conversations/${group}/messages`, { token: ana!.token, body: text(`buy now ${i}`, `s${i}`) });
    const stranger = await api("POST", `/api/v1/conversations/${group}/report`, { token: eve!.token, body: { reason: "spam" } });
    expect(stranger).toMatchObject({ status: 403, body: { error: { code: "not_a_member" } } });

    const reported = await api("POST", `/api/v1/conversations/${group}/report`, { token: bo!.token, body: { reason: "spam", leave: true } });
    expect(reported).toMatchObject({ status: 201, body: { left: true } });
    // The report is in R2 for the operators: who, why, and the five newest messages as Bo saw them.
    const stored = await archiveBucket.get(`reports/${group}/${reported.body.report_id}.json`);
    const report = JSON.parse(await stored!.text());
    expect(report).toMatchObject({ conversation_id: group, reporter_id: bo!.user.user_id, reason: "spam" });
    expect(report.messages.map((m: Message) => m.content)).toEqual(["buy now 3", "buy now 4", "buy now 5", "buy now 6", "buy now 7"]);
    // And Bo has left.
    expect((await api("GET", `/api/v1/conversations/${group}`, { token: bo!.token })).body.error.code).toBe("not_a_member");
  });
});
