package ari_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
	hari "hotline/ari"
	"hotline/ari/aritest"
)

func TestMessengerPushesChineseTextToSoftphones(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, hari.CallConfig{},
		agentSpec{id: "1001"},
		agentSpec{id: "1002", behavior: aritest.Behavior{Offline: true}},
		agentSpec{id: "s01", role: hotline.RoleSupervisor},
		agentSpec{id: "s02", role: hotline.RoleSupervisor, behavior: aritest.Behavior{Offline: true}})
	m := hari.NewMessenger(b.cli, b.roster, "sip:hotline@127.0.0.1", nil)
	ctx := context.Background()
	text := "回访任务 #12：13800138000 于 11月27日 16:50 来电未接，请在 11月30日 09:00 前回电并致歉。"
	require.NoError(t, m.NotifyAgent(ctx, "1001", text))
	err := m.NotifyAgent(ctx, "1002", text)
	require.Equal(t, hotline.KindUnavailable, hotline.KindOf(err))
	require.ErrorContains(t, err, "PJSIP/1002 of agent 1002 is not registered")
	require.Equal(t, hotline.KindNotFound, hotline.KindOf(m.NotifyAgent(ctx, "nobody", text)))
	require.NoError(t, m.NotifySupervisors(ctx, "超期回访："+text), "one supervisor reached is enough")

	require.Eventually(t, func() bool { return len(b.fake.Messages()) == 2 }, 5*time.Second, 10*time.Millisecond)
	msgs := b.fake.Messages()
	require.Equal(t, "PJSIP/1001", msgs[0].To)
	require.Equal(t, text, msgs[0].Body)
	require.Equal(t, "sip:hotline@127.0.0.1", msgs[0].From)
	require.Equal(t, "PJSIP/s01", msgs[1].To)
}
